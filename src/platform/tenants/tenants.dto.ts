import {
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

const USER_ID = /^[A-Za-z0-9._@:-]{1,128}$/;
const MAX_LIMIT = 1_000_000_000_000;

export class CreateTenantDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @IsInt()
  @Min(0)
  @Max(MAX_LIMIT)
  daily_token_limit!: number;

  @IsInt()
  @Min(0)
  @Max(MAX_LIMIT)
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
