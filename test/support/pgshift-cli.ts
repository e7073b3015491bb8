/**
 * Runs the pgshift CLI from its TypeScript sources (no build needed):
 * `node --import tsx test/support/pgshift-cli.ts <args>`; see `pgshiftProcessArgs`.
 */
import { main } from '../../src/cli/main';

void main(process.argv);
