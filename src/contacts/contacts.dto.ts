import type { CountryCode } from 'libphonenumber-js/min';
import { z } from 'zod';
import { normalizePhone } from './phone-number';

export const phoneInput = z.object({ number: z.string().min(1).max(40), label: z.string().trim().max(50).nullish() }).strict();

const optionalText = (max: number) => z.string().trim().max(max).nullish();

export const contactBody = z
  .object({
    firstName: z.string().trim().min(1).max(100),
    lastName: optionalText(100),
    organizationId: z.uuid().nullish(),
    ownerId: z.uuid().nullish(),
    birthday: z.iso.date({ message: 'must be a date YYYY-MM-DD' }).nullish(),
    email: z.email({ message: 'must be an email address' }).max(254).nullish(),
    notes: optionalText(10_000),
    tags: z.array(z.string().trim().min(1).max(50)).max(50).optional(),
    phones: z.array(phoneInput).max(20).optional(),
  })
  .strict();
export const contactPatchBody = contactBody.partial().strict();

export const organizationBody = z
  .object({
    name: z.string().trim().min(1).max(200),
    notes: optionalText(10_000),
    phones: z.array(phoneInput).max(50).optional(),
  })
  .strict();
export const organizationPatchBody = organizationBody.partial().strict();

export const listQuery = z
  .object({
    q: z.string().trim().max(100).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50),
    offset: z.coerce.number().int().min(0).max(100_000).default(0),
    ownerId: z.uuid().optional(),
    organizationId: z.uuid().optional(),
  })
  .strict();

export const lookupQuery = z.object({ phone: z.string().min(1).max(40) }).strict();

/** Validated phones → rows; an invalid number is a 400 naming `phones.<i>.number`. */
export function normalizePhones(phones: z.output<typeof phoneInput>[], country: CountryCode) {
  return phones.map((p, i) => {
    const n = normalizePhone(p.number, country);
    if (n.kind !== 'e164') {
      const reason =
        n.kind === 'invalid' ? n.reason : n.kind === 'extension' ? 'is an internal extension, not a customer number' : 'is empty';
      return { error: `phones.${i}.number: "${p.number}" ${reason}` } as const;
    }
    return { raw: p.number, e164: n.e164, label: p.label ?? null } as const;
  });
}

export interface PhoneDto {
  id: string;
  number: string;
  e164: string;
  label: string | null;
}

export interface ContactDto {
  id: string;
  firstName: string;
  lastName: string | null;
  name: string;
  organization: { id: string; name: string } | null;
  owner: { id: string; name: string } | null;
  birthday: string | null;
  email: string | null;
  notes: string | null;
  tags: string[];
  phones: PhoneDto[];
  createdAt: string;
  updatedAt: string;
}

export interface OrganizationDto {
  id: string;
  name: string;
  notes: string | null;
  phones: PhoneDto[];
  contacts: { id: string; name: string }[];
  createdAt: string;
  updatedAt: string;
}
