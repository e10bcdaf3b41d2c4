import { Counter, Registry } from 'prom-client';
import { EMPTY_LABEL, LabelCap, normaliseLabelValue, TenantFairLabelCap } from './label-cap';
import { MAX_LABEL_VALUE_LENGTH, OVERFLOW_LABEL } from './metric-names';

describe(LabelCap.name, () => {
  function overflowCounter(): Counter<'metric'> {
    return new Counter({
      name: 'overflow_total',
      help: 'h',
      labelNames: ['metric'],
      registers: [new Registry()],
    });
  }

  async function overflowOf(counter: Counter<'metric'>, metric: string): Promise<number> {
    const data = await counter.get();
    return data.values.find((value) => value.labels.metric === metric)?.value ?? NaN;
  }

  it('keeps the first values and folds the next distinct one into _other', async () => {
    const overflow = overflowCounter();
    const cap = new LabelCap(2, overflow, ['a_total', 'b_seconds']);
    expect(cap.fold('x')).toBe('x');
    expect(cap.fold('y')).toBe('y');
    expect(cap.fold('x')).toBe('x');
    expect(cap.fold('z')).toBe(OVERFLOW_LABEL);
    expect(cap.fold('w')).toBe(OVERFLOW_LABEL);
    expect(cap.size).toBe(2);
    expect(await overflowOf(overflow, 'a_total')).toBe(2);
    expect(await overflowOf(overflow, 'b_seconds')).toBe(2);
  });

  it('shows every guarded metric in the overflow counter at zero before any overflow', async () => {
    const overflow = overflowCounter();
    new LabelCap(5, overflow, ['a_total']);
    expect(await overflowOf(overflow, 'a_total')).toBe(0);
  });

  it('admits without counting through tryAdmit, and starts over after clear', async () => {
    const overflow = overflowCounter();
    const cap = new LabelCap(1, overflow, ['a_total']);
    expect(cap.tryAdmit('x')).toBe(true);
    expect(cap.tryAdmit('y')).toBe(false);
    expect(await overflowOf(overflow, 'a_total')).toBe(0);
    cap.clear();
    expect(cap.tryAdmit('y')).toBe(true);
  });
});

describe(normaliseLabelValue.name, () => {
  it('maps empty and non-string values to unknown', () => {
    expect(normaliseLabelValue('')).toBe(EMPTY_LABEL);
    expect(normaliseLabelValue(undefined)).toBe(EMPTY_LABEL);
    expect(normaliseLabelValue(42)).toBe(EMPTY_LABEL);
  });

  it('cuts values longer than the label length limit', () => {
    expect(normaliseLabelValue('m'.repeat(10_000))).toHaveLength(MAX_LABEL_VALUE_LENGTH);
    expect(normaliseLabelValue('gpt-4o')).toBe('gpt-4o');
  });
});

describe(TenantFairLabelCap.name, () => {
  function overflowCounter(): Counter<'metric'> {
    return new Counter({
      name: 'fair_overflow_total',
      help: 'h',
      labelNames: ['metric'],
      registers: [new Registry()],
    });
  }
  const overflowOf = async (counter: Counter<'metric'>) =>
    (await counter.get()).values.find((value) => value.labels.metric === 'm_total')?.value;

  it("folds only the tenant past its allowance, never another tenant's new values", async () => {
    const overflow = overflowCounter();
    const cap = new TenantFairLabelCap(100, 10, () => false, overflow, ['m_total']);
    const junk = Array.from({ length: 110 }, (_, i) => cap.fold(`junk-${i}`, 'tenant-junk'));
    expect(junk.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => `junk-${i}`));
    expect(new Set(junk.slice(10))).toEqual(new Set([OVERFLOW_LABEL]));
    expect(cap.fold('support_agent', 'tenant-b')).toBe('support_agent');
    expect(await overflowOf(overflow)).toBe(100);
  });

  it('keeps a known value whatever the allowance and the global cap say', () => {
    const cap = new TenantFairLabelCap(1, 1, (v) => v === 'claude-sonnet-4-5', overflowCounter(), [
      'm_total',
    ]);
    expect(cap.fold('x', 't1')).toBe('x');
    expect(cap.fold('y', 't2')).toBe(OVERFLOW_LABEL);
    expect(cap.fold('claude-sonnet-4-5', 't1')).toBe('claude-sonnet-4-5');
  });

  it('lets every tenant use a value another introduced, for free', () => {
    const cap = new TenantFairLabelCap(100, 1, () => false, overflowCounter(), ['m_total']);
    expect(cap.fold('shared', 't1')).toBe('shared');
    expect(cap.fold('shared', 't2')).toBe('shared');
    expect(cap.fold('own', 't2')).toBe('own');
    expect(cap.fold('second', 't1')).toBe(OVERFLOW_LABEL);
  });

  it('still bounds all series by the global cap', () => {
    const cap = new TenantFairLabelCap(20, 10, () => false, overflowCounter(), ['m_total']);
    for (let tenant = 0; tenant < 5; tenant++) {
      for (let i = 0; i < 10; i++) cap.fold(`t${tenant}-v${i}`, `t${tenant}`);
    }
    expect(cap.size).toBe(20);
    expect(cap.fold('late', 'fresh-tenant')).toBe(OVERFLOW_LABEL);
  });
});
