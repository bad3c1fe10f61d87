import { Column, CreateDateColumn, Entity, OneToMany, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Extension } from './extension.entity';

export type Role = 'admin' | 'supervisor' | 'manager';
export const ROLES: readonly Role[] = ['admin', 'supervisor', 'manager'];
export type Locale = 'uk' | 'en';
export const LOCALES: readonly Locale[] = ['uk', 'en'];

@Entity({ name: 'users' })
export class User {
  @PrimaryGeneratedColumn('uuid') id: string;
  /** stored lowercased; unique */
  @Column({ type: 'text' }) email: string;
  @Column({ type: 'text' }) name: string;
  @Column({ name: 'password_hash', type: 'text' }) passwordHash: string;
  @Column({ type: 'text' }) role: Role;
  @Column({ type: 'text', default: 'uk' }) locale: Locale;
  @Column({ type: 'boolean', default: true }) active: boolean;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
  @OneToMany('Extension', (e: Extension) => e.user) extensions?: Extension[];
}
