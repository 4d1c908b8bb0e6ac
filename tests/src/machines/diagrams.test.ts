import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import {
  DIAGRAMS,
  diagramPath,
  readmePath,
  renderDiagramDoc,
  renderMermaid,
  withReadmeDiagrams,
} from '../../../scripts/generate-diagrams.js';

describe('generate-diagrams: docs', () => {
  it.each(DIAGRAMS.map((d) => [d.name, d] as const))(
    'should keep docs/%s.md equal to what the generator produces from the machine (run `npx tsx scripts/generate-diagrams.ts`)',
    (_name, entry) => {
      expect(readFileSync(diagramPath(entry), 'utf8')).toBe(renderDiagramDoc(entry));
    },
  );

  it('should draw every state node and every transition of each machine', () => {
    for (const { machine } of DIAGRAMS) {
      const text = renderMermaid(machine);
      for (const node of Object.values(machine.root.states)) {
        for (const [type, transitions] of node.transitions) {
          for (const t of transitions) {
            const target = t.target?.[0]?.key ?? node.key;
            const line = text.split('\n').find((l) => l.startsWith(`  ${node.key} --> ${target}: `));
            const label = type.startsWith('xstate.after.') ? `after ${type.split('.')[2]}` : type;
            expect(line, `${node.key} --${type}--> ${target}`).toContain(label);
          }
        }
      }
    }
  });

  it('should render events, guards, resolved delays, self-loops and the final tag', () => {
    const machine = createMachine(
      {
        id: 'demo',
        initial: 'a',
        states: {
          a: { after: { wait: 'b' }, on: { GO: { target: 'b', guard: 'ok' }, POKE: { actions: 'noop' } } },
          b: { tags: ['final'] },
        },
      },
      { delays: { wait: 90 * 60_000 }, guards: { ok: () => true }, actions: { noop: () => {} } },
    );
    expect(renderMermaid(machine)).toBe(
      [
        'stateDiagram-v2',
        '  [*] --> a',
        '  a --> b: GO [ok]<br/>after wait (90m)',
        '  a --> a: POKE',
        '  classDef final font-weight:bold,stroke-width:3px',
        '  class b final',
        '',
      ].join('\n'),
    );
  });
});

describe('generate-diagrams: README', () => {
  it('should keep the diagrams in README.md equal to what the generator produces (run `npm run diagrams`)', () => {
    const readme = readFileSync(readmePath(), 'utf8');
    expect(withReadmeDiagrams(readme)).toBe(readme);
    expect(readme).toContain('```mermaid');
  });
});
