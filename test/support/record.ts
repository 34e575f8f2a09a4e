import type { Incident } from '../../src/core/incident.js';

/** Returns a record with empty lists and a summary naming its title; `more` overrides any field (kind: group by default). */
export function recordOf(id: string, title: string, more: Partial<Incident> = {}): Incident {
  return {
    id,
    kind: 'group',
    title,
    date: null,
    aliases: [],
    summary: `${title} is a record written for this test.`,
    sources: [],
    tags: [],
    entities: { actors: [], victims: [], software: [], cves: [], countries: [] },
    related: [],
    ...more,
  };
}
