import './v8-tuning';
import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config';
import { migrate, openDatabase } from './db/database';
import { createLogger } from './logger';
import { createAuditService } from './audit/audit.service';
import { createExtensionDirectory } from './users/extension-directory';
import { createUsersService } from './users/users.service';
import { createUserBody } from './users/users.dto';
import { AppError } from './errors';
import { rebuildFromJournal } from './asterisk/journal-replay';
import { createRecordingRetention } from './recordings/recording-retention';
import { createRecordingStorage } from './recordings/recording-storage';

/**
 * Shell commands: `migrate`, `migrate:revert`, `migration:create Name`, `user:create --email …`,
 * `calls:rebuild`, `recordings:purge`.
 * With the embedded database they connect through a running server's socket, or open DATA_DIR
 * themselves under its lock.
 */
const USAGE = `usage: calltrack <command>
  migrate                         apply pending migrations
  migrate:revert                  revert the last applied migration
  migration:create <PascalName>   write migrations/<epoch-ms>-<PascalName>.ts
  user:create --email E --password P --role admin|supervisor|manager [--name N] [--extension 101 ...]
  calls:rebuild --from ISO-DATE --to ISO-DATE [--source S ...]
                                  regenerate call records from the event journal (S: only the rows
                                  these processes journalled, call_events.source)
  recordings:purge [--days N]     delete stored recordings older than N days (default RECORDINGS_RETENTION_DAYS)`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function migrationCreate(name: string | undefined): void {
  if (!name || !/^[A-Z][A-Za-z0-9]+$/.test(name)) fail('migration:create needs a PascalCase name, e.g. AddCallTags');
  const ms = Date.now();
  const root = path.resolve(__dirname, fs.existsSync(path.resolve(__dirname, '../migrations')) ? '..' : '../..');
  const file = path.join(root, 'migrations', `${ms}-${name}.ts`);
  fs.writeFileSync(
    file,
    `import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ${name}${ms} implements MigrationInterface {
  name = '${name}${ms}';

  async up(q: QueryRunner): Promise<void> {
    await q.query(\`\`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(\`\`);
  }
}
`,
  );
  const registry = path.join(root, 'src', 'db', 'migrations.ts');
  const src = fs.readFileSync(registry, 'utf8');
  const cls = `${name}${ms}`;
  fs.writeFileSync(
    registry,
    src
      .replace(/(\nexport const migrations)/, `import { ${cls} } from '../../migrations/${ms}-${name}';\n$1`)
      .replace(/\];\s*$/, `, ${cls}];\n`),
  );
  process.stdout.write(`created ${path.relative(root, file)} and registered it in src/db/migrations.ts\n`);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'migration:create') return migrationCreate(rest[0]);
  if (!command || !['migrate', 'migrate:revert', 'user:create', 'calls:rebuild', 'recordings:purge'].includes(command)) fail(USAGE);

  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const db = await openDatabase(config, logger, 'cli');
  try {
    if (command === 'migrate') {
      const applied = await migrate(db.ds, logger);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
    } else if (command === 'migrate:revert') {
      await db.ds.undoLastMigration({ transaction: 'each' });
      process.stdout.write('reverted the last migration\n');
    } else if (command === 'recordings:purge') {
      const { values } = parseArgs({ args: rest, options: { days: { type: 'string' } } });
      const days = values.days === undefined ? config.recordingsRetentionDays : Number(values.days);
      if (!Number.isInteger(days) || days < 1) {
        fail(
          `recordings:purge: --days: give a whole number of days ≥ 1 (RECORDINGS_RETENTION_DAYS is ${config.recordingsRetentionDays}: keep forever)`,
        );
      }
      await migrate(db.ds, logger);
      const retention = createRecordingRetention({
        ds: db.ds,
        storage: createRecordingStorage(config.recordingsDir),
        logger,
        retentionDays: days,
      });
      const purged = await retention.purge();
      process.stdout.write(`purged ${purged} recording${purged === 1 ? '' : 's'} stored more than ${days} days ago\n`);
    } else if (command === 'calls:rebuild') {
      const { values } = parseArgs({
        args: rest,
        options: { from: { type: 'string' }, to: { type: 'string' }, source: { type: 'string', multiple: true } },
      });
      const from = new Date(values.from ?? '');
      const to = new Date(values.to ?? '');
      if (Number.isNaN(from.getTime())) fail(`calls:rebuild: --from: "${values.from ?? ''}" is not a date (ISO 8601)\n${USAGE}`);
      if (Number.isNaN(to.getTime())) fail(`calls:rebuild: --to: "${values.to ?? ''}" is not a date (ISO 8601)\n${USAGE}`);
      await migrate(db.ds, logger);
      const result = await rebuildFromJournal(db.ds, config.defaultCountry, logger, { from, to, sources: values.source });
      process.stdout.write(
        `rebuilt ${result.calls} calls from ${result.events} journal events (${result.sources} source${result.sources === 1 ? '' : 's'})\n`,
      );
    } else {
      const { values } = parseArgs({
        args: rest,
        options: {
          email: { type: 'string' },
          password: { type: 'string' },
          role: { type: 'string' },
          name: { type: 'string' },
          extension: { type: 'string', multiple: true },
          locale: { type: 'string' },
        },
      });
      await migrate(db.ds, logger);
      const parsed = createUserBody.safeParse({
        email: values.email,
        password: values.password,
        role: values.role,
        name: values.name ?? values.email?.split('@')[0],
        locale: values.locale,
        extensions: values.extension,
      });
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        fail(`user:create: --${String(issue.path[0] ?? 'arguments')}: ${issue.message}\n${USAGE}`);
      }
      const directory = createExtensionDirectory(db.ds);
      const users = createUsersService({ ds: db.ds, directory, audit: createAuditService(db.ds) });
      const user = await users.create(null, parsed.data);
      process.stdout.write(
        `created ${user.role} ${user.email}${user.extensions.length ? ` (extensions ${user.extensions.join(', ')})` : ''}\n`,
      );
    }
  } catch (err) {
    if (err instanceof AppError) fail(`${command}: ${err.message}`);
    throw err;
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
