export { BudgetsModule } from './budgets.module';
export { MIN_OUTPUT_TOKENS, TokenBudgetService } from './token-budget.service';
export type {
  BudgetStatus,
  CallUsage,
  Reservation,
  ReservationRequest,
  TenantLimits,
} from './token-budget.service';
export { BudgetExceededError, BudgetUnavailableError } from './budget.errors';
