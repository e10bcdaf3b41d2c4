import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
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
  @IsInt()
  @Min(1)
  @Max(50)
  max_steps?: number;
}

export class CreateRunDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(32_000)
  input!: string;
}
