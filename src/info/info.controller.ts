import { Controller, Get } from '@nestjs/common';
import { APP_NAME, APP_VERSION } from '../common';

@Controller('v1/info')
export class InfoController {
  /** Deliberately cheap: the benchmark uses it to measure per-request overhead. */
  @Get()
  info(): { name: string; version: string } {
    return { name: APP_NAME, version: APP_VERSION };
  }
}
