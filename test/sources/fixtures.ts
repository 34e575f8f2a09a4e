/**
 * Small, made-up documents in the publishers' formats (STIX bundle, KEV catalog, MISP galaxy clusters, JSON Lines),
 * built in code so that a test can add, change or drop a record between two syncs.
 */

/** A made-up CVE entry for kevCatalog. */
export interface KevEntry {
  cve: string;
  name?: string;
  vendor?: string;
  product?: string;
}

/** Returns a KEV catalog with these entries. */
export function kevCatalog(entries: readonly KevEntry[], version = '2099.01.01'): string {
  return JSON.stringify({
    title: 'Test Catalog of Known Exploited Vulnerabilities',
    catalogVersion: version,
    dateReleased: '2099-01-01T00:00:00.000Z',
    count: entries.length,
    vulnerabilities: entries.map((e) => ({
      cveID: e.cve,
      vendorProject: e.vendor ?? 'Quokka Systems',
      product: e.product ?? 'Pouch Gateway',
      vulnerabilityName: e.name ?? `Quokka Pouch Gateway flaw ${e.cve}`,
      dateAdded: '2099-01-01',
      shortDescription: `A made-up vulnerability (${e.cve}) in a made-up product, for tests.`,
      requiredAction: 'Apply updates.',
      dueDate: '2099-01-21',
      knownRansomwareCampaignUse: 'Unknown',
      notes: `https://vendor.example.com/advisories/${e.cve}`,
      cwes: [],
    })),
  });
}

/** A made-up ATT&CK-style object for stixBundle. */
export interface StixThing {
  kind: 'group' | 'software' | 'campaign';
  /** ATT&CK-style id, e.g. G9100. */
  attackId: string;
  name: string;
  description?: string;
}

/** Returns a STIX 2.0 bundle holding these objects, with a copyright marking definition. */
export function stixBundle(things: readonly StixThing[], statement = 'Copyright 2099, Test Publisher. For tests only.'): string {
  const type = { group: 'intrusion-set', software: 'malware', campaign: 'campaign' } as const;
  const path = { group: 'groups', software: 'software', campaign: 'campaigns' } as const;
  const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return JSON.stringify({
    type: 'bundle',
    id: `bundle--${uuid(1)}`,
    spec_version: '2.0',
    objects: [
      { type: 'marking-definition', id: `marking-definition--${uuid(2)}`, definition_type: 'statement', definition: { statement } },
      ...things.map((t, i) => ({
        type: type[t.kind],
        id: `${type[t.kind]}--${uuid(100 + i)}`,
        name: t.name,
        description: t.description ?? `${t.name} is a made-up ${t.kind} for tests.`,
        ...(t.kind === 'campaign' ? { first_seen: '2099-01-31T23:00:00.000Z' } : {}),
        x_mitre_domains: ['enterprise-attack'],
        external_references: [{ source_name: 'mitre-attack', url: `https://attack.example.org/${path[t.kind]}/${t.attackId}`, external_id: t.attackId }],
      })),
    ],
  });
}

/** Returns a MISP galaxy campaigns cluster (Tidal style) citing references by uuid. */
export function galaxyCampaigns(campaigns: ReadonlyArray<{ id: string; name: string; cites?: string }>): string {
  return JSON.stringify({
    authors: ['Test'],
    category: 'Campaigns',
    description: 'Test campaigns cluster',
    name: 'Test Campaigns',
    source: 'test',
    type: 'campaigns',
    uuid: '11111111-0000-4000-8000-000000000000',
    values: campaigns.map((c, i) => ({
      description: `${c.name} was a made-up campaign for tests.${c.cites ? `<sup>[[Report](/references/${c.cites})]</sup>` : ''}`,
      meta: { campaign_attack_id: c.id, first_seen: '2099-03-01T00:00:00Z', source: 'Tidal Cyber' },
      uuid: `11111111-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
      value: c.name,
    })),
    version: 7,
  });
}

/** Returns a MISP galaxy references cluster: each reference uuid with the URL it stands for. */
export function galaxyReferences(refs: ReadonlyArray<{ uuid: string; url: string; title?: string }>): string {
  return JSON.stringify({
    authors: ['Test'],
    category: 'References',
    description: 'Test references cluster',
    name: 'Test References',
    source: 'test',
    type: 'references',
    uuid: '22222222-0000-4000-8000-000000000000',
    values: refs.map((r) => ({ description: r.title ?? 'A report', meta: { refs: [r.url], title: r.title ?? 'A report' }, uuid: r.uuid, value: r.title ?? 'A report' })),
    version: 3,
  });
}

/** Returns JSON Lines in the project's flat schema. */
export function jsonlRecords(records: ReadonlyArray<{ id: string; title: string; summary?: string; type?: string }>): string {
  return records
    .map((r) =>
      JSON.stringify({ id: r.id, title: r.title, date: null, summary: r.summary ?? `${r.title}: a made-up record for tests.`, sources: [], tags: [`type:${r.type ?? 'campaign'}`], aliases: [] }),
    )
    .join('\n');
}
