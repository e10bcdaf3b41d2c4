import { Module } from '@nestjs/common';

/** SKELETON: the logging issue wires nestjs-pino here. */
@Module({})
export class LoggingModule {}
