import { periodWindow } from './budget-period';

describe(periodWindow.name, () => {
  it('resets the daily window at the next 00:00 UTC', () => {
    const window = periodWindow('daily', new Date('2026-11-27T23:59:59.999Z'));
    expect(window).toEqual({
      period: 'daily',
      id: '2026-11-27',
      resetsAt: new Date('2026-11-28T00:00:00.000Z'),
    });
  });

  it('starts a new daily window exactly at midnight UTC', () => {
    expect(periodWindow('daily', new Date('2026-11-28T00:00:00.000Z')).id).toBe('2026-11-28');
  });

  it('resets the monthly window on the 1st, across a year end', () => {
    const window = periodWindow('monthly', new Date('2026-12-31T12:00:00Z'));
    expect(window).toEqual({
      period: 'monthly',
      id: '2026-12',
      resetsAt: new Date('2027-01-01T00:00:00.000Z'),
    });
  });

  it('handles short months and leap days', () => {
    expect(periodWindow('daily', new Date('2028-02-29T10:00:00Z')).resetsAt).toEqual(
      new Date('2028-03-01T00:00:00Z'),
    );
    expect(periodWindow('monthly', new Date('2027-02-15T00:00:00Z')).resetsAt).toEqual(
      new Date('2027-03-01T00:00:00Z'),
    );
  });
});
