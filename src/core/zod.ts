import { createRequire } from 'node:module';
import type { z as Zod } from 'zod';

// zod from its CommonJS build, for every module of the bot: imported as ESM under tsx its ~95 modules each take a
// round trip through the loader thread, about 0.2 s of every start-up; required, the same code loads in a third of
// that. One instance for all, so that schemas built in one module compose with those of another.

/** zod's `z`, as `import { z } from 'zod'` gives it. */
export const z: typeof Zod = (createRequire(import.meta.url)('zod') as { z: typeof Zod }).z;

/** The types read off a schema (`z.infer`, `z.input`), as zod's own namespace gives them. */
export declare namespace z {
  type infer<T> = Zod.infer<T>;
  type input<T> = Zod.input<T>;
  type output<T> = Zod.output<T>;
}
