import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRuns } from '../../src/cli/run-inspect';
import { startPgshiftWorkflow } from '../../src/cli/workflow-runs';
import type { MigrationPlan } from '../../src/migrations/types';
import type { ProductionDeployInput } from '../../workflows/definitions';
import { runCli, waitUntil } from '../cli/run-cli';
import {
  createDeployStack,
  loadFixturePlan,
  waitForApprovalGate,
  type DeployStack,
} from '../deploy/deploy-stack';
import { closeTestEnv } from '../support/temporal';

const OUTPUT = join(__dirname, '..', '..', 'test-output', 'webui');
const CHROMIUM = process.env.PGSHIFT_CHROMIUM || '/usr/bin/chromium';
/** The deploy's current details, as the Web UI renders their Markdown. */
const MISSING =
  /missing engineering-lead \(alice\), product-owner \(bob\), devops \(carol, alice\)/;

/** The Web UI of the dev server started by global-setup. */
function webUi(): string {
  const url = process.env.PGSHIFT_WEB_UI;
  if (!url)
    throw new Error(
      'PGSHIFT_WEB_UI is not set: run the tests with vitest (global-setup starts the dev server with its Web UI), or set it with TEMPORAL_ADDRESS',
    );
  return url.replace(/\/+$/, '');
}

/** Markdown (summary, details, current details) is rendered in iframes: read them all. */
async function renderedMarkdown(page: Page): Promise<string> {
  const texts = await Promise.all(
    page.frames().map((frame) =>
      frame
        .locator('body')
        .innerText()
        .catch(() => ''),
    ),
  );
  return texts.join('\n');
}

describe('a production deploy waiting for approvals', () => {
  let stack: DeployStack;
  let plan: MigrationPlan;
  let browser: Browser;
  let handle: WorkflowHandle;
  let workflowId: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set PGSHIFT_CHROMIUM)`,
      );
    mkdirSync(OUTPUT, { recursive: true });
    stack = await createDeployStack();
    plan = await loadFixturePlan('deploy-churn');
    await stack.certify(plan);
    // Started as `pgshift deploy` starts it: search attributes and Web UI text included.
    process.env.PGSHIFT_TASK_QUEUE = stack.taskQueue;
    workflowId = `deploy-production-webui-${Date.now()}`;
    const started = await startPgshiftWorkflow(stack.client, {
      kind: 'productionDeploy',
      workflowId,
      input: {
        environment: 'production',
        plan,
        initiator: 'erin',
        options: {},
      } satisfies ProductionDeployInput,
      environment: 'production',
      initiator: 'erin',
      planChecksum: plan.checksum,
      summary: `Production deploy: ${plan.migrations.length} migrations, plan ${plan.checksum.slice(0, 12)}`,
      details: 'Started by **erin**. Needs engineering-lead, product-owner and devops.',
    });
    handle = started.handle;
    await waitForApprovalGate(handle);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    await handle?.terminate('web UI test finished').catch(() => undefined);
    await browser?.close();
    await stack?.stop();
    delete process.env.PGSHIFT_TASK_QUEUE;
    await closeTestEnv();
  });

  it('is found in the Web UI by its search attributes and shows which approvals are missing', async () => {
    await waitUntil(
      async () =>
        (
          await listRuns(stack.client, { environment: 'production', phase: 'awaiting-approval' })
        ).some((r) => r.workflowId === workflowId),
      'the visibility store to index the deploy',
    );
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(60_000);
    const query = 'PgshiftEnvironment="production" AND PgshiftWorkflowKind="productionDeploy"';
    await page.goto(`${webUi()}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    const link = page.getByRole('link', { name: workflowId, exact: true });
    await link.waitFor();
    await page.getByText('PgshiftEnvironment').first().waitFor();
    await page.screenshot({ path: join(OUTPUT, 'production-deploys.png') });

    await link.click();
    await page.waitForURL(new RegExp(`/workflows/${workflowId}/`));
    await page.getByText('User Metadata', { exact: true }).click();
    await page.getByText('Current Details').waitFor();
    await expect
      .poll(() => renderedMarkdown(page), { timeout: 60_000, interval: 250 })
      .toMatch(MISSING);
    expect(await renderedMarkdown(page)).toContain(
      `Production deploy: ${plan.migrations.length} migrations, plan ${plan.checksum.slice(0, 12)}`,
    );
    await page.screenshot({ path: join(OUTPUT, 'waiting-deploy-current-details.png') });
    await page.close();
  });

  it('`pgshift status` shows the same missing approvals in the terminal', async () => {
    const result = await runCli(['status', workflowId]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `${workflowId}  productionDeploy on production: RUNNING (phase awaiting-approval)`,
    );
    expect(result.stdout).toContain(
      'Approvals: 0 of 3, missing engineering-lead, product-owner, devops',
    );
    expect(result.stdout).toMatch(/✓ validate: completed/);
  });
});
