import { In, type DataSource, type EntityManager } from 'typeorm';
import { z } from 'zod';
import type { AuditService } from '../audit/audit.service';
import { conflict, invalid, notFound } from '../errors';
import { Extension } from './extension.entity';
import type { ExtensionDirectory } from './extension-directory';
import { hashPassword } from './password';
import type { CredentialEvents } from './credential-events';
import type { Principal } from './principal';
import { Session } from './session.entity';
import { User, type Locale, type Role } from './user.entity';
import { toUserDto, type createUserBody, type updateUserBody, type UserDto } from './users.dto';

export type UsersService = ReturnType<typeof createUsersService>;

export function createUsersService(deps: {
  ds: DataSource;
  directory: ExtensionDirectory;
  audit: AuditService;
  credentials?: Pick<CredentialEvents, 'changed'>;
}) {
  const { ds, directory, audit, credentials } = deps;
  const users = ds.getRepository(User);

  async function extensionsByUser(ids: string[]): Promise<Map<string, string[]>> {
    const rows = ids.length ? await ds.getRepository(Extension).findBy({ userId: In(ids) }) : [];
    const map = new Map<string, string[]>();
    for (const r of rows) map.set(r.userId!, [...(map.get(r.userId!) ?? []), r.number]);
    return map;
  }

  async function assignExtensions(m: EntityManager, userId: string, numbers: string[]): Promise<void> {
    const unique = [...new Set(numbers)];
    const taken = unique.length ? await m.getRepository(Extension).findBy({ number: In(unique) }) : [];
    const foreign = taken.find((e) => e.userId !== null && e.userId !== userId);
    if (foreign) throw conflict(`Extension ${foreign.number} already belongs to another user`);
    await m.getRepository(Extension).delete({ userId });
    if (unique.length) {
      await m.getRepository(Extension).delete({ number: In(unique) });
      await m.getRepository(Extension).insert(unique.map((number) => ({ number, userId })));
    }
  }

  async function get(id: string): Promise<UserDto> {
    const user = await users.findOneBy({ id });
    if (!user) throw notFound('User');
    return toUserDto(user, (await extensionsByUser([id])).get(id) ?? []);
  }

  return {
    get,

    async list(): Promise<UserDto[]> {
      const all = await users.find({ order: { name: 'ASC' } });
      const ext = await extensionsByUser(all.map((u) => u.id));
      return all.map((u) => toUserDto(u, ext.get(u.id) ?? []));
    },

    async create(actor: Principal | null, body: z.output<typeof createUserBody>): Promise<UserDto> {
      if (await users.existsBy({ email: body.email })) throw conflict(`A user with email ${body.email} already exists`);
      const passwordHash = await hashPassword(body.password);
      const id = await ds.transaction(async (m) => {
        const user = await m.getRepository(User).save(
          m.getRepository(User).create({
            email: body.email,
            name: body.name,
            passwordHash,
            role: body.role as Role,
            locale: (body.locale ?? 'uk') as Locale,
            active: body.active ?? true,
          }),
        );
        await assignExtensions(m, user.id, body.extensions ?? []);
        return user.id;
      });
      await directory.reload();
      await audit.record(actor, 'user.create', 'user', id, { email: body.email, role: body.role });
      return get(id);
    },

    async update(actor: Principal, id: string, body: z.output<typeof updateUserBody>): Promise<UserDto> {
      const user = await users.findOneBy({ id });
      if (!user) throw notFound('User');
      if (actor.userId === id && ((body.role && body.role !== user.role) || body.active === false)) {
        throw invalid('You cannot change your own role or deactivate yourself');
      }
      if (body.email && body.email !== user.email && (await users.existsBy({ email: body.email }))) {
        throw conflict(`A user with email ${body.email} already exists`);
      }
      const passwordHash = body.password ? await hashPassword(body.password) : undefined;
      await ds.transaction(async (m) => {
        await m.getRepository(User).update(
          { id },
          {
            ...(body.email && { email: body.email }),
            ...(body.name && { name: body.name }),
            ...(body.role && { role: body.role as Role }),
            ...(body.locale && { locale: body.locale as Locale }),
            ...(body.active !== undefined && { active: body.active }),
            ...(passwordHash && { passwordHash }),
          },
        );
        if (body.extensions) await assignExtensions(m, id, body.extensions);
        // a password change or deactivation ends every session of that user
        if (passwordHash || body.active === false) await m.getRepository(Session).delete({ userId: id });
      });
      await directory.reload();
      if (passwordHash || body.active !== undefined || (body.role && body.role !== user.role)) credentials?.changed(id);
      await audit.record(actor, 'user.update', 'user', id, { fields: Object.keys(body).filter((k) => k !== 'password') });
      return get(id);
    },

    async remove(actor: Principal, id: string): Promise<void> {
      if (actor.userId === id) throw invalid('You cannot delete yourself');
      const result = await users.delete({ id });
      if (!result.affected) throw notFound('User');
      credentials?.changed(id);
      await directory.reload();
      await audit.record(actor, 'user.delete', 'user', id);
    },

    async updateMe(p: Principal, body: { locale?: string; name?: string }): Promise<UserDto> {
      await users.update(
        { id: p.userId },
        { ...(body.locale && { locale: body.locale as Locale }), ...(body.name && { name: body.name }) },
      );
      return get(p.userId);
    },

    count: () => users.count(),
  };
}
