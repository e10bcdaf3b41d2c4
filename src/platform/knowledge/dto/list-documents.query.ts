import { Type } from 'class-transformer';
import { IsOptional } from 'class-validator';
import { IsIntegerInRange } from '../../../common';

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 200;

export class ListDocumentsQuery {
  @IsOptional()
  @Type(() => Number)
  @IsIntegerInRange(1, MAX_LIST_LIMIT)
  limit?: number;
}
