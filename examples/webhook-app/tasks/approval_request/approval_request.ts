/** approval_request: prepares the approval (in a real app: sends an e-mail with a link to the web hook). */
import { workerTask } from "idflow";

export const approvalRequest = workerTask({ name: "webhook_approval_request", retryCount: 0, responseTimeoutSeconds: 30 })(
  async (input: { item: string }, ctx) => {
    const link = `/hooks/approval/${ctx.workflowInstanceId}`;
    ctx.log(`approval for ${input.item} requested: POST ${link}`);
    return { item: input.item, link };
  },
);
