import { Counter, Registry } from 'prom-client';
import { EMPTY_LABEL, LabelCap, normaliseLabelValue } from './label-cap';
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
