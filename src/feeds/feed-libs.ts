import { createRequire } from 'node:module';
import type * as FastXmlParser from 'fast-xml-parser';
import type * as Feedsmith from 'feedsmith';

// The feed parsing libraries load on the first document, not at start-up, and from their CommonJS builds: imported as
// ESM under tsx their ~150 modules each take a round trip through the loader thread (about 0.5 s before the prompt).
const load = createRequire(import.meta.url);
let feedsmithLib: typeof Feedsmith | undefined;
let xmlLib: typeof FastXmlParser | undefined;

/** Returns feedsmith (feed and OPML parsing), loaded on first use. */
export function feedsmith(): typeof Feedsmith {
  return (feedsmithLib ??= load('feedsmith') as typeof Feedsmith);
}

/** Returns fast-xml-parser (XML validation), loaded on first use. */
export function fastXml(): typeof FastXmlParser {
  return (xmlLib ??= load('fast-xml-parser') as typeof FastXmlParser);
}
