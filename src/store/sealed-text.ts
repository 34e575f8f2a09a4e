import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Prefix of a sealed value; what follows is `<iv>:<tag>:<ciphertext>`, each base64. */
const SEALED_PREFIX = 'sealed:v1:';

/** Thrown when a stored value cannot be opened: no key, or not the key it was sealed with. */
export class SealError extends Error {
  override name = 'SealError';
}

/** Seals and opens text for storage: AES-256-GCM with a key from the environment, or plain text without one. */
export interface TextSealer {
  /** Whether values are encrypted (a key was given). */
  readonly sealing: boolean;
  /** Returns the value to store; `context` (e.g. the row's key) is bound to it, so a value copied to another row does not open. */
  seal(plain: string, context: string): string;
  /** Returns the plain text of a stored value, sealed or not; throws SealError when it cannot. */
  open(stored: string, context: string): string;
  /** Whether a stored value is sealed. */
  isSealed(stored: string): boolean;
}

/** Returns a sealer using a 32-byte key (AES-256-GCM, a fresh 96-bit IV per value), or one that stores plain text when no key is given. */
export function createTextSealer(key?: Buffer): TextSealer {
  if (key && key.length !== 32) throw new RangeError(`the encryption key must be 32 bytes (got ${key.length})`);
  const isSealed = (stored: string) => stored.startsWith(SEALED_PREFIX);
  return {
    sealing: key !== undefined,
    isSealed,
    seal(plain, context) {
      if (!key) return plain;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `${SEALED_PREFIX}${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${body.toString('base64')}`;
    },
    open(stored, context) {
      if (!isSealed(stored)) return stored;
      if (!key) throw new SealError('the value is encrypted and no key is configured');
      const [iv, tag, body] = stored.slice(SEALED_PREFIX.length).split(':');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64'));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag ?? '', 'base64'));
        return Buffer.concat([decipher.update(Buffer.from(body ?? '', 'base64')), decipher.final()]).toString('utf8');
      } catch {
        // GCM's check failed: another key, or a value moved from another row or altered.
        throw new SealError('the value does not open with the configured key (another key, or the value was altered or moved)');
      }
    },
  };
}
