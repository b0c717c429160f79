/** The balancer.yaml files shipped under deploy/ (the Kubernetes ConfigMap, the Compose config) pass `wslb check`, like the docs' examples. */

import t from 'tap';
import { parse } from 'yaml';
import { checkYaml } from './check-yaml.js';
import { read } from './markdown.js';

t.test('deploy/kubernetes/configmap.yaml data.balancer.yaml', async (t) => {
  const text = (parse(read('deploy/kubernetes/configmap.yaml')) as { data: Record<string, string> }).data['balancer.yaml'];
  if (!t.type(text, 'string', 'the ConfigMap carries a balancer.yaml')) return;
  t.same(await checkYaml(text!, 'configmap-balancer.yaml'), []);
});

t.test('deploy/compose.yaml configs.balancer.content', async (t) => {
  const text = (parse(read('deploy/compose.yaml')) as { configs: Record<string, { content?: string }> }).configs['balancer']?.content;
  if (!t.type(text, 'string', 'compose defines configs.balancer.content')) return;
  // Compose reads `$$` as a literal `$`, so wslb sees `${WSLB_NAME}` (set per service).
  t.same(await checkYaml(text!.replaceAll('$$', '$'), 'compose-balancer.yaml'), []);
});
