// Password hashing for the Auth service, in the reader pool: bcrypt is deliberately slow and
// must never run on the main thread.
import bcrypt from 'bcryptjs';

export function hash({ password, cost }: { password: string; cost: number }): Promise<string> {
  return bcrypt.hash(password, cost);
}

export function check({ password, hashed }: { password: string; hashed: string }): Promise<boolean> {
  return bcrypt.compare(password, hashed);
}
