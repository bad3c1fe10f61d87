import bcrypt from 'bcryptjs';

const ROUNDS = 10;

export const hashPassword = (password: string) => bcrypt.hash(password, ROUNDS);
export const verifyPassword = (password: string, hash: string) => bcrypt.compare(password, hash);

/** A hash compared against when the account does not exist, so timing does not reveal emails. */
export const DUMMY_HASH = bcrypt.hashSync('calltrack-timing-equalizer', ROUNDS);
