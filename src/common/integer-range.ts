import { applyDecorators } from '@nestjs/common';
import { IsInt, Max, Min } from 'class-validator';

/**
 * An integer from min to max, with one message whatever is wrong: "5" (a
 * string), 2.5, "abc" (NaN once a query is converted) and 51 all read
 * "<field> must be an integer from 1 to 50", so the client learns the rule,
 * not only the check that happened to run first.
 */
export function IsIntegerInRange(min: number, max: number): PropertyDecorator {
  const message = `$property must be an integer from ${min} to ${max}`;
  return applyDecorators(IsInt({ message }), Min(min, { message }), Max(max, { message }));
}
