export { BudgetsModule } from './budgets.module';
export { TokenBudgetService } from './token-budget.service';
export type { BudgetStatus, Reservation, TenantLimits } from './token-budget.service';
export { BudgetExceededError, BudgetUnavailableError } from './budget.errors';
