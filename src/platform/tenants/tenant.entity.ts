import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** bigint arrives from pg as a string; limits stay far below 2^53. */
export const bigintAsNumber = {
  to: (value: number): number => value,
  from: (value: string | number | null): number => Number(value ?? 0),
};

@Entity({ name: 'tenants' })
export class Tenant {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'daily_token_limit', type: 'bigint', transformer: bigintAsNumber })
  dailyTokenLimit!: number;

  @Column({ name: 'monthly_token_limit', type: 'bigint', transformer: bigintAsNumber })
  monthlyTokenLimit!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
