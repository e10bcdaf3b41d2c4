import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
} from 'class-validator';
import { IsIntegerInRange } from '../../common';
import { MIN_OUTPUT_TOKENS } from '../budgets';
import { TOOL_NAMES } from '../tools';

export class CreateAgentDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  // A metric label: kept short and plain so it cannot explode or corrupt the series.
  @IsString()
  @Matches(/^[a-z][a-z0-9_]{0,39}$/, {
    message: 'type must be 1-40 of [a-z0-9_], starting with a letter',
  })
  type!: string;

  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  @Matches(/^\S+$/, { message: 'model must be a model name without spaces' })
  model!: string;

  @IsOptional()
  @IsString()
  @MaxLength(20_000)
  instructions?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(TOOL_NAMES.length)
  @ArrayUnique()
  @IsIn(TOOL_NAMES, { each: true, message: `tools must only contain ${TOOL_NAMES.join(', ')}` })
  tools?: string[];

  @IsOptional()
  @IsIntegerInRange(1, 50)
  max_steps?: number;

  // From the budget's floor to above the largest output any model offers today (128k).
  @IsOptional()
  @IsIntegerInRange(MIN_OUTPUT_TOKENS, 200_000)
  max_output_tokens?: number;
}

export class CreateRunDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(32_000)
  input!: string;

  /** Answer with server-sent events as the run works (also chosen by `Accept: text/event-stream`). */
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  /** Answer 202 at once; the run goes on without the client. */
  @IsOptional()
  @IsBoolean()
  background?: boolean;
}
