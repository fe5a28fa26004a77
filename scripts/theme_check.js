// Shopify's theme-check (the linter `shopify theme check` runs) on a theme app extension,
// with its theme-app-extension rules: `node scripts/theme_check.js extensions/embajador-widget`.
// Prints one line per offense and "N offenses"; exits 1 when there is any, 2 when it cannot run.
const path = require('path');
const fs = require('fs');
const os = require('os');
const { check } = require('@shopify/theme-check-node');

const root = path.resolve(process.argv[2] || 'extensions/embajador-widget');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'theme-check-'));
const config = path.join(dir, 'theme-check.yml');
fs.writeFileSync(config, 'extends: theme-check:theme-app-extension\n');
check(root, config).finally(() => fs.rmSync(dir, { recursive: true, force: true })).then((offenses) => {
  for (const o of offenses) {
    console.log(`${o.check} ${path.relative(root, o.uri.replace(/^file:\/\//, ''))}:${o.start.line + 1} ${o.message}`);
  }
  console.log(`${offenses.length} offenses`);
  process.exit(offenses.length ? 1 : 0);
}).catch((error) => { console.error(`theme-check: ${error.message}`); process.exit(2); });
