import type { CountryCode } from 'libphonenumber-js/min';
import { In, type DataSource, type EntityManager } from 'typeorm';
import type { z } from 'zod';
import { forbidden, invalid, notFound } from '../errors';
import type { Principal } from '../users/principal';
import { User } from '../users/user.entity';
import { Contact } from './contact.entity';
import { matchNumber } from './contact-matcher';
import {
  normalizePhones,
  type contactBody,
  type ContactDto,
  type listQuery,
  type organizationBody,
  type OrganizationDto,
  type PhoneDto,
} from './contacts.dto';
import { Organization } from './organization.entity';
import { Phone } from './phone.entity';
import { normalizePhone, phoneSearch } from './phone-number';

export type ContactsService = ReturnType<typeof createContactsService>;
type ContactInput = Partial<z.output<typeof contactBody>>;
type OrganizationInput = Partial<z.output<typeof organizationBody>>;

const displayName = (c: { firstName: string; lastName: string | null }) => [c.firstName, c.lastName].filter(Boolean).join(' ');
const phoneDto = (p: Phone): PhoneDto => ({ id: p.id, number: p.raw, e164: p.e164, label: p.label });
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Told which numbers changed owner (contact or organization phones), so their calls can be re-linked. */
export type NumbersChanged = (e164s: string[]) => Promise<void>;

export function createContactsService(deps: { ds: DataSource; defaultCountry: CountryCode; onNumbersChanged?: NumbersChanged }) {
  const { ds, defaultCountry } = deps;
  const numbersChanged = async (e164s: Iterable<string>) => {
    const unique = [...new Set(e164s)];
    if (unique.length && deps.onNumbersChanged) await deps.onNumbersChanged(unique);
  };
  /** The numbers of a contact, or of an organization (its own phones). */
  const phonesOf = async (where: { contactId?: string; organizationId?: string }, m: EntityManager = ds.manager) =>
    (await m.getRepository(Phone).findBy(where)).map((p) => p.e164);
  const organizationNumbers = async (organizationId: string) => {
    const rows: { e164: string }[] = await ds.query(
      `SELECT e164 FROM phones WHERE organization_id = $1
       UNION SELECT p.e164 FROM phones p JOIN contacts c ON c.id = p.contact_id WHERE c.organization_id = $1`,
      [organizationId],
    );
    return rows.map((r) => r.e164);
  };

  function phoneRows(phones: NonNullable<ContactInput['phones']>) {
    const rows = normalizePhones(phones, defaultCountry);
    const bad = rows.find((r) => 'error' in r);
    if (bad && 'error' in bad) throw invalid(`Invalid body: ${bad.error}`);
    return rows as { raw: string; e164: string; label: string | null }[];
  }

  async function checkRefs(m: EntityManager, body: ContactInput): Promise<void> {
    if (body.organizationId && !(await m.getRepository(Organization).existsBy({ id: body.organizationId }))) {
      throw invalid(`Invalid body: organizationId: organization ${body.organizationId} does not exist`);
    }
    if (body.ownerId && !(await m.getRepository(User).existsBy({ id: body.ownerId }))) {
      throw invalid(`Invalid body: ownerId: user ${body.ownerId} does not exist`);
    }
  }

  async function contactDtos(m: EntityManager, contacts: Contact[]): Promise<ContactDto[]> {
    if (!contacts.length) return [];
    const ids = contacts.map((c) => c.id);
    const phones = await m.getRepository(Phone).find({ where: { contactId: In(ids) }, order: { raw: 'ASC' } });
    const orgIds = [...new Set(contacts.map((c) => c.organizationId).filter((x): x is string => !!x))];
    const ownerIds = [...new Set(contacts.map((c) => c.ownerId).filter((x): x is string => !!x))];
    const orgs = new Map((orgIds.length ? await m.getRepository(Organization).findBy({ id: In(orgIds) }) : []).map((o) => [o.id, o]));
    const owners = new Map((ownerIds.length ? await m.getRepository(User).findBy({ id: In(ownerIds) }) : []).map((u) => [u.id, u]));
    return contacts.map((c) => {
      const org = c.organizationId ? orgs.get(c.organizationId) : undefined;
      const owner = c.ownerId ? owners.get(c.ownerId) : undefined;
      return {
        id: c.id,
        firstName: c.firstName,
        lastName: c.lastName,
        name: displayName(c),
        organization: org ? { id: org.id, name: org.name } : null,
        owner: owner ? { id: owner.id, name: owner.name } : null,
        birthday: c.birthday,
        email: c.email,
        notes: c.notes,
        tags: c.tags,
        phones: phones.filter((p) => p.contactId === c.id).map(phoneDto),
        createdAt: c.createdAt.toISOString(),
        updatedAt: c.updatedAt.toISOString(),
      };
    });
  }

  async function getContact(id: string, m: EntityManager = ds.manager): Promise<ContactDto> {
    const c = await m.getRepository(Contact).findOneBy({ id });
    if (!c) throw notFound('Contact');
    return (await contactDtos(m, [c]))[0]!;
  }

  async function getOrganization(id: string): Promise<OrganizationDto> {
    const o = await ds.getRepository(Organization).findOneBy({ id });
    if (!o) throw notFound('Organization');
    const phones = await ds.getRepository(Phone).find({ where: { organizationId: id }, order: { raw: 'ASC' } });
    const contacts = await ds.getRepository(Contact).find({ where: { organizationId: id }, order: { firstName: 'ASC' }, take: 500 });
    return {
      id: o.id,
      name: o.name,
      notes: o.notes,
      phones: phones.map(phoneDto),
      contacts: contacts.map((c) => ({ id: c.id, name: displayName(c) })),
      createdAt: o.createdAt.toISOString(),
      updatedAt: o.updatedAt.toISOString(),
    };
  }

  /**
   * Phone digits in a search term: a full number matches by E.164, a fragment (or a term that may be
   * one, see phoneSearch) by substring.
   */
  function phoneFilter(q: string): { e164?: string; digits?: string } | null {
    const term = phoneSearch(q, defaultCountry);
    if (!term) return null;
    return term.digits ? { digits: term.digits } : term.e164 ? { e164: term.e164 } : null;
  }

  return {
    getContact,
    getOrganization,

    async listContacts(query: z.output<typeof listQuery>) {
      const qb = ds.getRepository(Contact).createQueryBuilder('c').orderBy('lower(c.first_name)', 'ASC').addOrderBy('c.id', 'ASC');
      if (query.ownerId) qb.andWhere('c.owner_id = :ownerId', { ownerId: query.ownerId });
      if (query.organizationId) qb.andWhere('c.organization_id = :orgId', { orgId: query.organizationId });
      if (query.q) {
        const phone = phoneFilter(query.q);
        if (phone?.e164) {
          qb.andWhere('c.id IN (SELECT contact_id FROM phones WHERE e164 = :e164 AND contact_id IS NOT NULL)', { e164: phone.e164 });
        } else if (phone?.digits) {
          qb.andWhere('c.id IN (SELECT contact_id FROM phones WHERE e164 LIKE :digits AND contact_id IS NOT NULL)', {
            digits: `%${phone.digits}%`,
          });
        } else {
          const like = `%${escapeLike(query.q.toLowerCase())}%`;
          qb.andWhere(
            `(lower(c.first_name || ' ' || coalesce(c.last_name, '')) LIKE :like OR lower(coalesce(c.email, '')) LIKE :like
              OR c.organization_id IN (SELECT id FROM organizations WHERE lower(name) LIKE :like))`,
            { like },
          );
        }
      }
      const rows = await qb
        .skip(query.offset)
        .take(query.limit + 1)
        .getMany();
      const items = await contactDtos(ds.manager, rows.slice(0, query.limit));
      return { items, nextOffset: rows.length > query.limit ? query.offset + query.limit : null };
    },

    async createContact(actor: Principal, body: z.output<typeof contactBody>): Promise<ContactDto> {
      const phones = phoneRows(body.phones ?? []);
      return ds
        .transaction(async (m) => {
          await checkRefs(m, body);
          const c = await m.getRepository(Contact).save(
            m.getRepository(Contact).create({
              firstName: body.firstName,
              lastName: body.lastName ?? null,
              organizationId: body.organizationId ?? null,
              // a manager creating a contact becomes its personal manager unless told otherwise
              ownerId: body.ownerId !== undefined ? body.ownerId : actor.role === 'manager' ? actor.userId : null,
              birthday: body.birthday ?? null,
              email: body.email ?? null,
              notes: body.notes ?? null,
              tags: body.tags ?? [],
            }),
          );
          if (phones.length) await m.getRepository(Phone).insert(phones.map((p) => ({ ...p, contactId: c.id })));
          return getContact(c.id, m);
        })
        .then(async (dto) => {
          await numbersChanged(phones.map((p) => p.e164));
          return dto;
        });
    },

    async updateContact(actor: Principal, id: string, body: ContactInput): Promise<ContactDto> {
      const phones = body.phones ? phoneRows(body.phones) : undefined;
      const before = await phonesOf({ contactId: id });
      const dto = await ds.transaction(async (m) => {
        const repo = m.getRepository(Contact);
        const c = await repo.findOneBy({ id });
        if (!c) throw notFound('Contact');
        // owning a contact shows its calls: a manager may not take over (or reassign) someone else's
        if (body.ownerId !== undefined && body.ownerId !== c.ownerId && actor.role === 'manager' && c.ownerId !== actor.userId) {
          throw forbidden('Only the personal manager, a supervisor or an admin can reassign this contact');
        }
        await checkRefs(m, body);
        const { phones: _phones, ...fields } = body;
        if (Object.keys(fields).length) await repo.update({ id }, { ...fields, updatedAt: new Date() });
        if (phones) {
          await m.getRepository(Phone).delete({ contactId: id });
          if (phones.length) await m.getRepository(Phone).insert(phones.map((p) => ({ ...p, contactId: id })));
        }
        return getContact(id, m);
      });
      // new or removed numbers, or a new organization or name: the calls of those numbers follow
      await numbersChanged([...before, ...dto.phones.map((p) => p.e164)]);
      return dto;
    },

    async deleteContact(actor: Principal, id: string): Promise<void> {
      const c = await ds.getRepository(Contact).findOneBy({ id });
      if (!c) throw notFound('Contact');
      if (actor.role === 'manager' && c.ownerId !== actor.userId)
        throw forbidden('Only the personal manager, a supervisor or an admin can delete this contact');
      const numbers = await phonesOf({ contactId: id });
      await ds.getRepository(Contact).delete({ id });
      await numbersChanged(numbers);
    },

    async listOrganizations(query: z.output<typeof listQuery>) {
      const qb = ds.getRepository(Organization).createQueryBuilder('o').orderBy('lower(o.name)', 'ASC').addOrderBy('o.id', 'ASC');
      if (query.q) {
        const phone = phoneFilter(query.q);
        if (phone?.e164) {
          qb.andWhere(
            `(o.id IN (SELECT organization_id FROM phones WHERE e164 = :e164 AND organization_id IS NOT NULL)
              OR o.id IN (SELECT c.organization_id FROM contacts c JOIN phones p ON p.contact_id = c.id WHERE p.e164 = :e164))`,
            { e164: phone.e164 },
          );
        } else if (phone?.digits) {
          qb.andWhere(
            `(o.id IN (SELECT organization_id FROM phones WHERE e164 LIKE :digits AND organization_id IS NOT NULL)
              OR o.id IN (SELECT c.organization_id FROM contacts c JOIN phones p ON p.contact_id = c.id WHERE p.e164 LIKE :digits))`,
            { digits: `%${phone.digits}%` },
          );
        } else {
          qb.andWhere('lower(o.name) LIKE :like', { like: `%${escapeLike(query.q.toLowerCase())}%` });
        }
      }
      const rows = await qb
        .skip(query.offset)
        .take(query.limit + 1)
        .getMany();
      const items = await Promise.all(rows.slice(0, query.limit).map((o) => getOrganization(o.id)));
      return { items, nextOffset: rows.length > query.limit ? query.offset + query.limit : null };
    },

    async createOrganization(body: z.output<typeof organizationBody>): Promise<OrganizationDto> {
      const phones = phoneRows(body.phones ?? []);
      const id = await ds.transaction(async (m) => {
        const o = await m.getRepository(Organization).save({ name: body.name, notes: body.notes ?? null });
        if (phones.length) await m.getRepository(Phone).insert(phones.map((p) => ({ ...p, organizationId: o.id })));
        return o.id;
      });
      await numbersChanged(phones.map((p) => p.e164));
      return getOrganization(id);
    },

    async updateOrganization(id: string, body: OrganizationInput): Promise<OrganizationDto> {
      const phones = body.phones ? phoneRows(body.phones) : undefined;
      const before = await organizationNumbers(id);
      await ds.transaction(async (m) => {
        const repo = m.getRepository(Organization);
        if (!(await repo.existsBy({ id }))) throw notFound('Organization');
        const { phones: _phones, ...fields } = body;
        if (Object.keys(fields).length) await repo.update({ id }, { ...fields, updatedAt: new Date() });
        if (phones) {
          await m.getRepository(Phone).delete({ organizationId: id });
          if (phones.length) await m.getRepository(Phone).insert(phones.map((p) => ({ ...p, organizationId: id })));
        }
      });
      await numbersChanged([...before, ...(await organizationNumbers(id))]);
      return getOrganization(id);
    },

    async deleteOrganization(actor: Principal, id: string): Promise<void> {
      if (actor.role === 'manager') throw forbidden('Only a supervisor or an admin can delete an organization');
      const numbers = await organizationNumbers(id);
      const result = await ds.getRepository(Organization).delete({ id });
      if (!result.affected) throw notFound('Organization');
      await numbersChanged(numbers);
    },

    /** Who has this number: the contact (with its organization), an organization, or several. */
    async lookup(phone: string) {
      const n = normalizePhone(phone, defaultCountry);
      if (n.kind !== 'e164') {
        const reason = n.kind === 'invalid' ? n.reason : n.kind === 'extension' ? 'is an internal extension' : 'is empty or withheld';
        throw invalid(`Invalid query: phone: "${phone}" ${reason}`);
      }
      const result = await matchNumber(ds, n.e164);
      return {
        phone: n.e164,
        match: result.match,
        contact: result.contact ? await getContact(result.contact.id) : null,
        organization: result.organization ? { id: result.organization.id, name: result.organization.name } : null,
        candidates: result.candidates,
      };
    },
  };
}
