import { withClient } from '../src/migrations/database';
import {
  findRehearsalCertificate,
  recordRehearsalCertificate,
  type RehearsalCertificateRecord,
} from '../src/records/certificates';
import {
  findLastSuccessfulDeployment,
  listDeployments,
  recordDeployment,
  type DeploymentRecord,
} from '../src/records/deployments';
import { asActivity, databaseUrlOf, type ActivityDeps, type OnEnvironment } from './deps';

export function createRecordActivities(deps: ActivityDeps) {
  const inEnvironment = <T>(environment: string, fn: Parameters<typeof withClient<T>>[1]) =>
    asActivity(() => withClient(databaseUrlOf(deps, environment), fn));
  return {
    async recordRehearsalCertificate(
      input: OnEnvironment<{ planChecksum: string; workflowId: string; toVersion: number }>,
    ): Promise<RehearsalCertificateRecord> {
      return inEnvironment(input.environment, (client) =>
        recordRehearsalCertificate(client, input),
      );
    },

    async findRehearsalCertificate(
      input: OnEnvironment<{ planChecksum: string }>,
    ): Promise<RehearsalCertificateRecord | null> {
      return inEnvironment(
        input.environment,
        async (client) => (await findRehearsalCertificate(client, input.planChecksum)) ?? null,
      );
    },

    async recordDeployment(input: OnEnvironment<{ record: DeploymentRecord }>): Promise<void> {
      return inEnvironment(input.environment, (client) => recordDeployment(client, input.record));
    },

    async findLastSuccessfulDeployment(input: OnEnvironment<{}>): Promise<DeploymentRecord | null> {
      return inEnvironment(
        input.environment,
        async (client) => (await findLastSuccessfulDeployment(client)) ?? null,
      );
    },

    async listDeployments(input: OnEnvironment<{ limit?: number }>): Promise<DeploymentRecord[]> {
      return inEnvironment(input.environment, (client) => listDeployments(client, input.limit));
    },
  };
}
