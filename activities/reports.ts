import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Context } from '@temporalio/activity';
import { asActivity, type ActivityDeps } from './deps';

export function createReportActivities(deps: ActivityDeps) {
  return {
    /**
     * Writes a report (Markdown + JSON) named by the workflow id and run id; history keeps
     * only the path. Rewriting the same report on retry is harmless; another run of the same
     * workflow id writes its own.
     */
    async writeReport(input: {
      workflowId: string;
      kind: 'rehearsal' | 'deploy' | 'incident';
      markdown: string;
      data: unknown;
    }): Promise<{ path: string; jsonPath: string }> {
      return asActivity(async () => {
        const dir = resolve(deps.config.reportsDir);
        await mkdir(dir, { recursive: true });
        const runId = Context.current().info.workflowExecution?.runId;
        const name = runId ? `${input.workflowId}-${runId}` : input.workflowId;
        const base = join(dir, `${input.kind}-${name.replace(/[^A-Za-z0-9._-]+/g, '_')}`);
        await writeFile(`${base}.md`, input.markdown, { mode: 0o640 });
        await writeFile(`${base}.json`, JSON.stringify(input.data, null, 2) + '\n', {
          mode: 0o640,
        });
        return { path: `${base}.md`, jsonPath: `${base}.json` };
      });
    },
  };
}
