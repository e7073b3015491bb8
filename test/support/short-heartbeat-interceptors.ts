import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

/**
 * Test worker configuration (bundled into the workflows of tests that ask for it): every
 * activity scheduled with a heartbeat timeout gets this much shorter one, so a test can run
 * work several heartbeat timeouts long without making the work itself any shorter.
 */
export const SHORT_HEARTBEAT_TIMEOUT_MS = 2_000;

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      scheduleActivity: (input, next) =>
        next(
          input.options.heartbeatTimeout === undefined
            ? input
            : {
                ...input,
                options: { ...input.options, heartbeatTimeout: SHORT_HEARTBEAT_TIMEOUT_MS },
              },
        ),
    },
  ],
});
