export { stagingRehearsal } from './staging-rehearsal';
export { productionDeploy } from './production-deploy';
export { emergencyRollback } from './emergency-rollback';
export { archivePreservedDatabase } from './archive-preserved-database';
export { environmentLease } from './lease/environment-lease';
export { fleetDeploy } from './fleet/fleet-deploy';
export { fleetDatabaseDeploy } from './fleet/database-deploy';
