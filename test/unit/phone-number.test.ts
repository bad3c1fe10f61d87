import { normalizePhone, toE164, phoneSearch } from '../../src/contacts/phone-number';

describe('normalizePhone (DEFAULT_COUNTRY=UA)', () => {
  it.each([
    ['0501112233'],
    ['380501112233'],
    ['+380501112233'],
    ['+380 50 111-22-33'],
    ['8 050 111 22 33'],
    ['(050) 111 22 33'],
    ['00380501112233'],
    ['050.111.22.33'],
  ])('%s → +380501112233', (input) => {
    expect(normalizePhone(input, 'UA')).toEqual({ kind: 'e164', e164: '+380501112233', raw: input });
  });

  it('recognizes internal extensions', () => {
    expect(normalizePhone('101', 'UA')).toEqual({ kind: 'extension', extension: '101', raw: '101' });
    expect(normalizePhone('10001', 'UA')).toMatchObject({ kind: 'extension', extension: '10001' });
  });

  it.each([[''], ['anonymous'], ['Anonymous'], ['unknown'], ['<unknown>'], ['  '], [null], [undefined]])('withheld: %p', (input) => {
    expect(normalizePhone(input, 'UA').kind).toBe('withheld');
  });

  it.each([['abc'], ['+1'], ['12345678901234567890'], ['050-ABC-22-33'], ['x'.repeat(1000)], ['+380 50 111 22 3']])(
    'garbage is reported, never thrown: %p',
    (input) => {
      const n = normalizePhone(input, 'UA');
      expect(n.kind).toBe('invalid');
      expect(n.kind === 'invalid' && n.reason.length).toBeGreaterThan(0);
    },
  );

  it('follows DEFAULT_COUNTRY for national numbers', () => {
    expect(toE164('89161234567', 'RU')).toBe('+79161234567');
    expect(toE164('030 1234567', 'DE')).toBe('+49301234567');
    expect(toE164('0501112233', 'UA')).toBe('+380501112233');
  });

  it('keeps a landline DID', () => {
    expect(toE164('380441234567', 'UA')).toBe('+380441234567');
    expect(toE164('044 123 45 67', 'UA')).toBe('+380441234567');
  });
});

describe('phoneSearch', () => {
  it('searches a whole number exactly, a fragment by its digits, and a term that may be either both ways', () => {
    expect(phoneSearch('050 111 22 33', 'UA')).toEqual({ e164: '+380501112233', digits: null });
    expect(phoneSearch('+380 50 111 22 33', 'UA')).toEqual({ e164: '+380501112233', digits: null });
    expect(phoneSearch('123-4567', 'UA')).toEqual({ e164: null, digits: '1234567' });
    // a German number to libphonenumber, most likely part of a number to someone in Ukraine
    expect(phoneSearch('4916124', 'UA')).toEqual({ e164: '+4916124', digits: '4916124' });
    expect(phoneSearch('12', 'UA')).toBeNull();
    expect(phoneSearch('Olena', 'UA')).toBeNull();
  });
});
