import { z } from 'zod';
import { LOCALES, ROLES, type User } from './user.entity';

export const extensionNumber = z.string().regex(/^\d{2,6}$/, 'must be 2 to 6 digits, e.g. 101');
const email = z
  .email({ message: 'must be an email address' })
  .max(254)
  .transform((v) => v.toLowerCase());
const password = z.string().min(8, 'must be at least 8 characters').max(200);

export const createUserBody = z
  .object({
    email,
    name: z.string().trim().min(1).max(200),
    password,
    role: z.enum(ROLES as [string, ...string[]]),
    locale: z.enum(LOCALES as [string, ...string[]]).optional(),
    active: z.boolean().optional(),
    extensions: z.array(extensionNumber).max(20).optional(),
  })
  .strict();

export const updateUserBody = createUserBody.partial().strict();

export const loginBody = z.object({ email: z.string().min(1).max(254), password: z.string().min(1).max(200) }).strict();

export const updateMeBody = z
  .object({ locale: z.enum(LOCALES as [string, ...string[]]).optional(), name: z.string().trim().min(1).max(200).optional() })
  .strict();

export const createTokenBody = z.object({ name: z.string().trim().min(1).max(100), userId: z.uuid().optional() }).strict();

export interface UserDto {
  id: string;
  email: string;
  name: string;
  role: string;
  locale: string;
  active: boolean;
  extensions: string[];
  createdAt: string;
}

export function toUserDto(user: User, extensions: string[]): UserDto {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    locale: user.locale,
    active: user.active,
    extensions: [...extensions].sort(),
    createdAt: user.createdAt.toISOString(),
  };
}
