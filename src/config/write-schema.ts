/** Writes the JSON Schema of balancer.yaml (for editor completion) to balancer.schema.json, or to the path given. */
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from './schema.js';

const out = process.argv[2] ?? 'balancer.schema.json';
writeFileSync(out, JSON.stringify(configJsonSchema(), null, 2) + '\n');
console.log(`wrote ${out}`);
