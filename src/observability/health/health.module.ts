import { Module } from '@nestjs/common';

/** SKELETON: the health issue wires @nestjs/terminus here. */
@Module({})
export class HealthModule {}
