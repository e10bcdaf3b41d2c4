import { IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsIntegerInRange } from '../../common';

const USER_ID = /^[A-Za-z0-9._@:-]{1,128}$/;
const MAX_LIMIT = 1_000_000_000_000;

export class CreateTenantDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @IsIntegerInRange(0, MAX_LIMIT)
  daily_token_limit!: number;

  @IsIntegerInRange(0, MAX_LIMIT)
  monthly_token_limit!: number;

  @IsOptional()
  @IsString()
  @Matches(USER_ID, { message: 'user_id must be 1-128 of [A-Za-z0-9._@:-]' })
  user_id?: string;
}

export class CreateApiKeyDto {
  @IsString()
  @Matches(USER_ID, { message: 'user_id must be 1-128 of [A-Za-z0-9._@:-]' })
  user_id!: string;
}
