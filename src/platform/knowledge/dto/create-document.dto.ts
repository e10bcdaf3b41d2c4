import { IsString, Length, Matches } from 'class-validator';

export const MAX_TITLE_LENGTH = 200;
export const MAX_CONTENT_LENGTH = 100_000;

export class CreateDocumentDto {
  @IsString()
  @Length(1, MAX_TITLE_LENGTH)
  @Matches(/\S/, { message: 'title must not be blank' })
  title!: string;

  @IsString()
  @Length(1, MAX_CONTENT_LENGTH)
  @Matches(/\S/, { message: 'content must not be blank' })
  content!: string;
}
