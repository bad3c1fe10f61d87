import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ASTERISK_CONFIG_DIR,
  ConfSyntaxError,
  allValues,
  dialplanSteps,
  extensionSteps,
  isTrue,
  lastValue,
  list,
  loadShippedConf,
  parseAsteriskConf,
  section,
  sectionsNamed,
  splitArgs,
} from '../helpers/asterisk-conf';

/**
 * The AMI events calltrack consumes and the class Asterisk 22 sends each with (the "Privilege:"
 * header of the real captures in ../shared/fixtures/ami). The calltrack AMI user must be able to
 * read every one of these classes.
 */
const CONSUMED_EVENT_CLASSES: Record<string, string> = {
  Newchannel: 'call',
  Newstate: 'call',
  NewCallerid: 'call',
  NewConnectedLine: 'call',
  DialBegin: 'call',
  DialEnd: 'call',
  BridgeEnter: 'call',
  BridgeLeave: 'call',
  Hangup: 'call',
  BlindTransfer: 'call',
  AttendedTransfer: 'call',
  MixMonitorStart: 'call',
  CEL: 'call',
  Cdr: 'cdr',
  VarSet: 'dialplan',
  Newexten: 'dialplan',
  QueueCallerJoin: 'agent',
  QueueCallerLeave: 'agent',
  AgentCalled: 'agent',
  AgentConnect: 'agent',
  AgentComplete: 'agent',
  FullyBooted: 'system',
};

/** The AMI action classes (manager.c perms[]); "all" and "none" are aliases. */
const AMI_CLASSES = [
  'system',
  'call',
  'log',
  'verbose',
  'command',
  'agent',
  'user',
  'config',
  'dtmf',
  'reporting',
  'cdr',
  'dialplan',
  'originate',
  'agi',
  'cc',
  'aoc',
  'test',
  'security',
  'message',
];

/** CoreShowChannels is registered with EVENT_FLAG_SYSTEM | EVENT_FLAG_REPORTING (main/manager.c). */
const CORE_SHOW_CHANNELS_CLASSES = ['system', 'reporting'];

/** cel.conf events= names Asterisk 18-22 accept (cel.c cel_event_types); anything else voids [general]. */
const CEL_EVENT_NAMES = [
  'ALL',
  'CHAN_START',
  'CHAN_END',
  'ANSWER',
  'HANGUP',
  'APP_START',
  'APP_END',
  'PARK_START',
  'PARK_END',
  'USER_DEFINED',
  'BRIDGE_ENTER',
  'BRIDGE_EXIT',
  'BLINDTRANSFER',
  'ATTENDEDTRANSFER',
  'PICKUP',
  'FORWARD',
  'LINKEDID_END',
  'LOCAL_OPTIMIZE',
  'LOCAL_OPTIMIZE_BEGIN',
];

const ARI_RECORDING_DIR = '/var/spool/asterisk/recording';
const PLACEHOLDER = /^CHANGE_ME_[A-Z0-9_]+$/;

describe('parseAsteriskConf', () => {
  it('reads sections, templates, both assignment forms, comments and includes', () => {
    const conf = parseAsteriskConf(
      [
        '; leading comment',
        '#include "extra.conf"',
        '[general]',
        'enabled = yes ; trailing comment',
        'name = a\\;b',
        ';-- a block',
        'comment = ignored',
        '--;',
        '[tpl](!)',
        'type = endpoint',
        'context = default',
        '[101](tpl)',
        'context = from-internal',
        '[101](+)',
        'callerid => "Manager 101" <101>',
        '[ctx]',
        'exten => _1XX,1,Dial(PJSIP/${EXTEN},20,tT)',
        ' same => n(done),Return()',
      ].join('\n'),
    );
    expect(conf.directives).toEqual([{ directive: 'include', argument: 'extra.conf', line: 2 }]);
    expect(section(conf, 'general').map((e) => [e.key, e.value])).toEqual([
      ['enabled', 'yes'],
      ['name', 'a;b'],
    ]);
    expect(conf.sections.find((s) => s.name === 'tpl')).toMatchObject({ isTemplate: true, templates: [] });
    const endpoint = section(conf, '101', 'endpoint');
    expect(lastValue(endpoint, 'context')).toBe('from-internal');
    expect(lastValue(endpoint, 'callerid')).toBe('"Manager 101" <101>');
    expect(endpoint.find((e) => e.key === 'callerid')?.arrow).toBe(true);
    expect(dialplanSteps(conf, 'ctx')).toEqual([
      expect.objectContaining({ exten: '_1XX', priority: '1', app: 'Dial', args: 'PJSIP/${EXTEN},20,tT' }),
      expect.objectContaining({ exten: '_1XX', priority: 'n', label: 'done', app: 'Return', args: '' }),
    ]);
  });

  it('rejects what Asterisk would not read', () => {
    expect(() => parseAsteriskConf('[general\nx = 1')).toThrow(ConfSyntaxError);
    expect(() => parseAsteriskConf('[general]\njust a line')).toThrow(/line 2/);
    expect(() => parseAsteriskConf(';-- never closed')).toThrow(/block comment/);
  });

  it('splits application arguments on top-level commas only', () => {
    expect(splitArgs('${CALLTRACK_REC_DIR}/${RECORDING_FILE},b')).toEqual(['${CALLTRACK_REC_DIR}/${RECORDING_FILE}', 'b']);
    expect(splitArgs('$["${A}" != "${FILTER(0-9,${B})}"]?x,y')).toEqual(['$["${A}" != "${FILTER(0-9,${B})}"]?x', 'y']);
  });
});

describe('asterisk-config/', () => {
  it('every .conf file parses', () => {
    const files = readdirSync(ASTERISK_CONFIG_DIR).filter((f) => f.endsWith('.conf'));
    expect(files.sort()).toEqual(
      [
        'ari.conf',
        'cdr.conf',
        'cdr_manager.conf',
        'cel.conf',
        'extensions.conf',
        'http.conf',
        'manager.conf',
        'pjsip.conf',
        'queues.conf',
      ].sort(),
    );
    for (const f of files) expect(() => loadShippedConf(f)).not.toThrow();
  });

  it('commits no secret: every secret and password is a CHANGE_ME_ placeholder', () => {
    const checked: string[] = [];
    for (const f of ['manager.conf', 'ari.conf', 'pjsip.conf']) {
      for (const s of loadShippedConf(f).sections) {
        for (const e of s.entries) {
          if (/^(secret|password)$/i.test(e.key)) {
            expect(`${f} [${s.name}] ${e.key} = ${e.value}`).toMatch(/= CHANGE_ME_[A-Z0-9_]+$/);
            checked.push(`${f}:${s.name}`);
          }
        }
      }
    }
    expect(checked).toEqual(expect.arrayContaining(['manager.conf:calltrack', 'ari.conf:calltrack', 'pjsip.conf:carrier-auth']));
  });

  it('the README explains every file', () => {
    const readme = readFileSync(path.join(ASTERISK_CONFIG_DIR, 'README.md'), 'utf8');
    for (const f of readdirSync(ASTERISK_CONFIG_DIR).filter((n) => n.endsWith('.conf'))) {
      expect(readme).toContain(`## ${f}`);
    }
  });
});

describe('manager.conf (AMI)', () => {
  const conf = loadShippedConf('manager.conf');
  const general = section(conf, 'general');
  const user = section(conf, 'calltrack');
  const read = list(lastValue(user, 'read'));
  const write = list(lastValue(user, 'write'));

  it('is enabled on loopback port 5038, with event timestamps and without AMI over HTTP', () => {
    expect(isTrue(lastValue(general, 'enabled'))).toBe(true);
    expect(lastValue(general, 'bindaddr')).toBe('127.0.0.1');
    expect(lastValue(general, 'port')).toBe('5038');
    expect(isTrue(lastValue(general, 'timestampevents'))).toBe(true);
    expect(isTrue(lastValue(general, 'displayconnects'))).toBe(false);
    expect(isTrue(lastValue(general, 'webenabled'))).toBe(false);
  });

  it('has exactly one user, calltrack, reachable from loopback only', () => {
    expect(conf.sections.map((s) => s.name)).toEqual(['general', 'calltrack']);
    expect(allValues(user, 'deny')).toEqual(['0.0.0.0/0.0.0.0']);
    expect(allValues(user, 'permit')).toEqual(['127.0.0.1/255.255.255.255']);
    const acl = user.filter((e) => e.key === 'deny' || e.key === 'permit').map((e) => e.key);
    expect(acl).toEqual(['deny', 'permit']);
  });

  it('uses a placeholder secret that must be replaced', () => {
    expect(lastValue(user, 'secret')).toMatch(PLACEHOLDER);
  });

  it.each(Object.entries(CONSUMED_EVENT_CLASSES))('can read %s events (class %s)', (_event, cls) => {
    expect(read).toContain(cls);
  });

  it('reads nothing else: only known classes, no "all", no verbose/log/security noise', () => {
    for (const cls of read) expect(AMI_CLASSES).toContain(cls);
    expect(new Set(read)).toEqual(new Set(Object.values(CONSUMED_EVENT_CLASSES)));
  });

  it('may write exactly the one class CoreShowChannels needs, and nothing dangerous', () => {
    expect(write).toEqual(['reporting']);
    expect(CORE_SHOW_CHANNELS_CLASSES).toContain(write[0]);
    for (const dangerous of ['originate', 'command', 'config', 'system', 'call', 'all', 'agi']) {
      expect(write).not.toContain(dangerous);
    }
  });

  it('exposes RECORDING_FILE on channel events (and CoreShowChannel after a reconnect)', () => {
    expect(list(lastValue(general, 'channelvars'))).toContain('RECORDING_FILE');
  });
});

describe('cel.conf', () => {
  const conf = loadShippedConf('cel.conf');
  const general = section(conf, 'general');
  const events = list(lastValue(general, 'events'));
  const apps = list(lastValue(general, 'apps'));

  it('is enabled and published on AMI by the manager backend', () => {
    expect(isTrue(lastValue(general, 'enable'))).toBe(true);
    expect(isTrue(lastValue(section(conf, 'manager'), 'enabled'))).toBe(true);
  });

  it('tracks the events the tracker needs, LINKEDID_END above all', () => {
    expect(events).toEqual(
      expect.arrayContaining([
        'CHAN_START',
        'CHAN_END',
        'ANSWER',
        'HANGUP',
        'BRIDGE_ENTER',
        'BRIDGE_EXIT',
        'LINKEDID_END',
        'BLINDTRANSFER',
        'ATTENDEDTRANSFER',
        'PICKUP',
        'LOCAL_OPTIMIZE',
      ]),
    );
  });

  it('names only events Asterisk knows (one unknown name disables CEL)', () => {
    for (const e of events) expect(CEL_EVENT_NAMES).toContain(e);
  });

  it('lists apps literally (no "all") and tracks APP_START/APP_END for them', () => {
    expect(apps).toEqual(expect.arrayContaining(['dial', 'queue', 'mixmonitor']));
    expect(apps.map((a) => a.toLowerCase())).not.toContain('all');
    expect(events).toEqual(expect.arrayContaining(['APP_START', 'APP_END']));
  });
});

describe('cdr.conf and cdr_manager.conf', () => {
  it('CDRs are on, posted immediately, and sent on AMI', () => {
    const cdr = section(loadShippedConf('cdr.conf'), 'general');
    expect(isTrue(lastValue(cdr, 'enable'))).toBe(true);
    expect(isTrue(lastValue(cdr, 'batch'))).toBe(false);
    expect(isTrue(lastValue(section(loadShippedConf('cdr_manager.conf'), 'general'), 'enabled'))).toBe(true);
  });
});

describe('extensions.conf', () => {
  const conf = loadShippedConf('extensions.conf');
  const globals = section(conf, 'globals');
  const record = extensionSteps(conf, 'calltrack-record', 's');
  const gosubRecord = (args: string) => /^calltrack-record,s,1\((in|out)\)$/.test(args);

  /** The steps of an extension up to its Dial/Queue, which must contain the recording Gosub first. */
  function expectRecordedBefore(context: string, exten: string, app: 'Dial' | 'Queue') {
    const steps = extensionSteps(conf, context, exten);
    const gosub = steps.findIndex((s) => s.app === 'Gosub' && gosubRecord(s.args));
    const connect = steps.findIndex((s) => s.app === app);
    expect({ context, exten, gosub }).toEqual({ context, exten, gosub: expect.any(Number) });
    expect(gosub).toBeGreaterThanOrEqual(0);
    expect(connect).toBeGreaterThan(gosub);
    // Dial/Queue is the last priority (autofallthrough hangs up with its status)
    expect(connect).toBe(steps.length - 1);
  }

  it('records into the ARI recordings directory', () => {
    expect(lastValue(globals, 'CALLTRACK_REC_DIR')).toBe(ARI_RECORDING_DIR);
    expect(lastValue(globals, 'CALLTRACK_REC_SUBDIR')).toMatch(/^[a-z0-9_-]+$/);
  });

  it('names the recording after the linkedid and sets RECORDING_FILE inheritably and in CDR(userfield)', () => {
    const set = record.find((s) => s.app === 'Set' && s.args.startsWith('__RECORDING_FILE='));
    expect(set?.args).toBe('__RECORDING_FILE=${CALLTRACK_REC_SUBDIR}/${ARG1}-${CHANNEL(linkedid)}.raw');
    const userfield = record.find((s) => s.app === 'Set' && s.args.startsWith('CDR(userfield)='));
    expect(userfield?.args).toBe('CDR(userfield)=${RECORDING_FILE}');
    expect(record.indexOf(set!)).toBeLessThan(record.indexOf(userfield!));
  });

  it('starts MixMonitor on that file: bridged-only (b), two channels interleaved (D) into a .raw', () => {
    const mixmonitor = record.filter((s) => s.app === 'MixMonitor');
    expect(mixmonitor).toHaveLength(1);
    const [file, options, command, ...rest] = splitArgs(mixmonitor[0]!.args);
    expect(file).toBe('${CALLTRACK_REC_DIR}/${RECORDING_FILE}');
    // b: only while bridged; D: customer and agent on separate channels (talk analytics).
    // No other option: r()/t() would write extra files, a/B/p would change the recording.
    expect([...(options ?? '')].sort()).toEqual(['D', 'b']);
    expect(command).toBeUndefined();
    expect(rest).toEqual([]);
    // MixMonitor docs: with D "you MUST use '.raw' as the file extension. Any other extension
    // will produce a corrupted file." RECORDING_FILE is what MixMonitor writes (and what
    // calltrack fetches), so it must end in .raw.
    const set = record.find((s) => s.app === 'Set' && s.args.startsWith('__RECORDING_FILE='));
    expect(set?.args).toMatch(/\.raw$/);
    expect(record.indexOf(set!)).toBeLessThan(record.indexOf(mixmonitor[0]!));
  });

  it('records a channel only once (an already recorded caller that is transferred out is not recorded twice)', () => {
    expect(record[0]).toMatchObject({ app: 'GotoIf', args: '$["${RECORDING_FILE}" != ""]?done' });
    expect(record[record.length - 1]).toMatchObject({ label: 'done', app: 'Return' });
  });

  it('records every inbound DID', () => {
    const dids = [...new Set(dialplanSteps(conf, 'from-carrier').map((s) => s.exten))].filter((e) => /^\d+$/.test(e));
    expect(dids).toEqual(['380441234567', '380441234568']);
    expectRecordedBefore('from-carrier', '380441234567', 'Dial');
    expectRecordedBefore('from-carrier', '380441234568', 'Queue');
    expect(extensionSteps(conf, 'from-carrier', '380441234567').at(-1)?.args).toBe('PJSIP/101,15,t');
    expect(extensionSteps(conf, 'from-carrier', '380441234568').at(-1)?.args).toMatch(/^sales,/);
  });

  it('records every outbound call, and every outbound pattern leads to the trunk context', () => {
    expectRecordedBefore('outbound-carrier', '_[+0-9]X.', 'Dial');
    expect(extensionSteps(conf, 'outbound-carrier', '_[+0-9]X.').at(-1)?.args).toMatch(
      /^PJSIP\/\$\{CALLTRACK_NUMBER\}@\$\{CALLTRACK_TRUNK\},/,
    );
    for (const pattern of ['_0X.', '_+X.', '_380X.']) {
      expect(extensionSteps(conf, 'from-internal', pattern)).toEqual([
        expect.objectContaining({ app: 'Goto', args: 'outbound-carrier,${EXTEN},1' }),
      ]);
    }
    expect(lastValue(globals, 'CALLTRACK_TRUNK')).toBe('carrier');
  });

  it('does not record internal calls', () => {
    expect(extensionSteps(conf, 'from-internal', '_1XX').map((s) => s.app)).toEqual(['NoOp', 'Dial']);
  });

  it('does not let the outside caller transfer with DTMF (no T on inbound Dial/Queue)', () => {
    for (const s of dialplanSteps(conf, 'from-carrier').filter((x) => x.app === 'Dial' || x.app === 'Queue')) {
      const options = splitArgs(s.args)[s.app === 'Dial' ? 2 : 1] ?? '';
      expect(options).not.toContain('T');
    }
  });
});

describe('queues.conf', () => {
  it('sales rings all of 101 and 102', () => {
    const sales = section(loadShippedConf('queues.conf'), 'sales');
    expect(lastValue(sales, 'strategy')).toBe('ringall');
    expect(allValues(sales, 'member').map((m) => splitArgs(m)[0])).toEqual(['PJSIP/101', 'PJSIP/102']);
  });
});

describe('http.conf and ari.conf', () => {
  it('the HTTP server runs on loopback 127.0.0.1:8088 without a prefix', () => {
    const general = section(loadShippedConf('http.conf'), 'general');
    expect(isTrue(lastValue(general, 'enabled'))).toBe(true);
    expect(lastValue(general, 'bindaddr')).toBe('127.0.0.1');
    expect(lastValue(general, 'bindport')).toBe('8088');
    expect(lastValue(general, 'prefix') ?? '').toBe('');
    expect(isTrue(lastValue(general, 'enablestatic'))).toBe(false);
  });

  it('ARI is on, with a read-write calltrack user and a placeholder password', () => {
    const conf = loadShippedConf('ari.conf');
    expect(isTrue(lastValue(section(conf, 'general'), 'enabled'))).toBe(true);
    const user = section(conf, 'calltrack');
    expect(lastValue(user, 'type')).toBe('user');
    expect(isTrue(lastValue(user, 'read_only'))).toBe(false);
    expect(lastValue(user, 'password_format')).toBe('plain');
    expect(lastValue(user, 'password')).toMatch(PLACEHOLDER);
    expect(lastValue(section(conf, 'general'), 'allowed_origins')).toBeUndefined();
  });
});

describe('pjsip.conf', () => {
  const conf = loadShippedConf('pjsip.conf');

  it('has a UDP transport', () => {
    expect(lastValue(section(conf, 'transport-udp', 'transport'), 'protocol')).toBe('udp');
  });

  it.each(['101', '102', '103'])('phone %s is an endpoint in from-internal with its own auth and aor', (ext) => {
    const endpoint = section(conf, ext, 'endpoint');
    expect(lastValue(endpoint, 'context')).toBe('from-internal');
    expect(lastValue(endpoint, 'auth')).toBe(ext);
    expect(lastValue(endpoint, 'aors')).toBe(ext);
    expect(lastValue(endpoint, 'direct_media')).toBe('no');
    expect(lastValue(section(conf, ext, 'auth'), 'password')).toMatch(PLACEHOLDER);
    expect(lastValue(section(conf, ext, 'aor'), 'max_contacts')).toBe('1');
  });

  it('the trunk is endpoint "carrier" in from-carrier, registered and identified by its host', () => {
    expect(lastValue(section(conf, 'carrier', 'endpoint'), 'context')).toBe('from-carrier');
    expect(lastValue(section(conf, 'carrier', 'identify'), 'endpoint')).toBe('carrier');
    expect(lastValue(section(conf, 'carrier-registration', 'registration'), 'outbound_auth')).toBe('carrier-auth');
    expect(sectionsNamed(conf, 'carrier')).toHaveLength(3);
  });
});
