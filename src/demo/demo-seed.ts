import crypto from 'node:crypto';
import type { ContactsService } from '../contacts/contacts.service';
import type { Logger } from '../logger';
import type { CriteriaService } from '../reviews/criteria.service';
import type { UsersService } from '../users/users.service';

/** The people the demo PBX's calls are about: its phones are 101–103, its customer +380501112233. */
const MANAGERS = [
  { extension: '101', name: 'Оксана Демо (101)', email: 'manager101@demo.calltrack.local' },
  { extension: '102', name: 'Андрій Демо (102)', email: 'manager102@demo.calltrack.local' },
  { extension: '103', name: 'Марія Демо (103)', email: 'manager103@demo.calltrack.local' },
];

/** The demo's review scorecard (admins change it through /api/review-criteria and the admin page). */
const DEMO_CRITERIA = [
  { name: 'Привітався та представився', kind: 'yes_no' as const, weight: 2 },
  { name: 'Виявив потребу клієнта', kind: 'scale' as const, weight: 3 },
  { name: 'Запропонував рішення', kind: 'scale' as const, weight: 3 },
  { name: 'Домовився про наступний крок', kind: 'yes_no' as const, weight: 2 },
];

/**
 * Seeds demo managers, a supervisor and contacts into an empty database (once: only when this start
 * created the first admin), and prints their logins. Everything is marked DEMO.
 */
export async function seedDemo(deps: {
  users: UsersService;
  contacts: ContactsService;
  criteria?: CriteriaService;
  logger: Logger;
}): Promise<void> {
  const { users, contacts, criteria, logger } = deps;
  const logins: { email: string; password: string; role: string; extension?: string }[] = [];
  const created: { id: string; extension: string }[] = [];
  for (const m of MANAGERS) {
    const password = crypto.randomBytes(9).toString('base64url');
    const user = await users.create(null, {
      email: m.email,
      name: m.name,
      password,
      role: 'manager',
      locale: 'uk',
      extensions: [m.extension],
    });
    created.push({ id: user.id, extension: m.extension });
    logins.push({ email: m.email, password, role: 'manager', extension: m.extension });
  }
  const supervisorPassword = crypto.randomBytes(9).toString('base64url');
  await users.create(null, {
    email: 'supervisor@demo.calltrack.local',
    name: 'Supervisor (demo)',
    password: supervisorPassword,
    role: 'supervisor',
    locale: 'uk',
  });
  logins.push({ email: 'supervisor@demo.calltrack.local', password: supervisorPassword, role: 'supervisor' });

  const org = await contacts.createOrganization({
    name: 'Салон «Демо»',
    notes: 'DEMO organization',
    phones: [{ number: '+380441230000', label: 'office' }],
  });
  const owner = { userId: created[0]!.id, role: 'manager' as const, email: '', name: '', locale: 'uk' as const, via: 'session' as const };
  await contacts.createContact(owner, {
    firstName: 'Олена',
    lastName: 'Коваль (демо)',
    organizationId: org.id,
    ownerId: created[0]!.id,
    phones: [{ number: '+380501112233', label: 'mobile' }],
    tags: ['demo', 'vip'],
    notes: 'DEMO contact: the demo PBX calls from this number',
  });
  // an example scorecard for reviews; criteria are data, named in the demo's language (DEFAULT_COUNTRY=UA)
  if (criteria && (await criteria.list(true)).length === 0) {
    for (const c of DEMO_CRITERIA) await criteria.create(null, c);
  }
  logger.warn({ logins }, 'DEMO: seeded demo managers (extensions 101–103), a supervisor and contacts. These passwords are shown once.');
}
