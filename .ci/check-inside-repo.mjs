// Fails when a tracked file reads a path outside the repository: a user's clone has nothing beside it
// (no ../shared, no sibling checkouts), so code, tests and scripts must find everything inside the repo.
//
// What it looks for in each tracked source file:
//   - path.join/resolve(__dirname, '..', '..', …) whose '..' segments climb above the repo root,
//     counting from where the file runs (files that tsc compiles run one level deeper, from dist/);
//   - string literals that start with enough '../' to climb out of the repo from the file's folder;
//   - "shared/brief", the team's brief beside the repo.
// Usage: node .ci/check-inside-repo.mjs   (prints each offending line; exit 1 when there is one)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const sourceExt = /\.(ts|mts|cts|js|mjs|cjs|sh)$/;
// Folders tsconfig.build.json compiles into dist/: their code runs from dist/<same path>.
const compiled = ['functions/', 'shared/', 'simulator/', 'local/', 'bench/', 'scripts/'];
const self = '.ci/check-inside-repo.mjs';

const files = execFileSync('git', ['ls-files', '-z'], { encoding: 'utf8' })
  .split('\0')
  .filter((f) => sourceExt.test(f) && f !== self);

const problems = [];
for (const file of files) {
  const depth = file.split('/').length - 1;
  const runsFromDist = compiled.some((dir) => file.startsWith(dir)) && /\.ts$/.test(file);
  const allowed = depth + (runsFromDist ? 1 : 0);
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, index) => {
    const where = `${file}:${index + 1}: ${line.trim()}`;
    if (/^\s*(\/\/|\*|\/\*|#)/.test(line)) return; // comments may name paths
    for (const m of line.matchAll(/__dirname((?:\s*,\s*['"]\.\.['"])+)/g)) {
      const climbs = (m[1].match(/\.\./g) ?? []).length;
      if (climbs > allowed) problems.push(`${where}\n    climbs ${climbs} levels from a file ${allowed} deep`);
    }
    for (const m of line.matchAll(/['"`]((?:\.\.\/)+)/g)) {
      const climbs = m[1].length / 3;
      if (climbs > allowed) problems.push(`${where}\n    '${m[1]}' climbs out of the repository`);
    }
    if (/shared\/brief|['"]shared['"]\s*,\s*['"]brief['"]/.test(line)) {
      problems.push(`${where}\n    reads the team brief beside the repository; keep a copy inside it`);
    }
  });
}

if (problems.length > 0) {
  console.error(
    `Files that read outside the repository (a fresh clone has nothing beside it):\n${problems.join('\n')}`,
  );
  process.exit(1);
}
console.log(`check-inside-repo: ${files.length} tracked source files read nothing outside the repository`);
