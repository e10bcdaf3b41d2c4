import { BUDGET_PERIODS } from '../../observability/catalog';
import type { BudgetPeriod } from '../../observability/catalog';

/** One ledger window: daily resets at 00:00 UTC, monthly on the 1st at 00:00 UTC. */
export interface PeriodWindow {
  period: BudgetPeriod;
  /** Stable id of the window, part of the ledger key: 2026-11-27 or 2026-11. */
  id: string;
  resetsAt: Date;
}

export function periodWindow(period: BudgetPeriod, now: Date): PeriodWindow {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (period === 'daily') {
    const day = now.getUTCDate();
    return {
      period,
      id: `${year}-${pad(month + 1)}-${pad(day)}`,
      resetsAt: new Date(Date.UTC(year, month, day + 1)),
    };
  }
  return {
    period,
    id: `${year}-${pad(month + 1)}`,
    resetsAt: new Date(Date.UTC(year, month + 1, 1)),
  };
}

export function currentWindows(now: Date): PeriodWindow[] {
  return BUDGET_PERIODS.map((period) => periodWindow(period, now));
}
