import { Client } from 'pg';

/**
 * Fills a database with about `targetMb` of generated data: three tables (customers,
 * events, payments) loaded with INSERT … SELECT generate_series, then their indexes, then
 * ANALYZE. Two tables load at once (the machine has 2 cores). Returns the database size.
 */
export async function generateData(
  url: string,
  targetMb: number,
): Promise<{ sizeBytes: number; rows: number }> {
  // Calibrated on PostgreSQL 15: 1000 MB asked ≈ 1000 MB of pg_database_size.
  const scale = (targetMb / 1000) * 0.78;
  const customers = Math.round(800_000 * scale);
  const events = Math.round(4_200_000 * scale);
  const payments = Math.round(2_000_000 * scale);
  const withClient = async (fn: (c: Client) => Promise<unknown>) => {
    const client = new Client(url);
    await client.connect();
    try {
      await fn(client);
    } finally {
      await client.end();
    }
  };
  await withClient((c) =>
    c.query(`
      CREATE TABLE bench_customers (
        id bigint PRIMARY KEY, email text NOT NULL, full_name text, region text,
        created_at timestamptz NOT NULL);
      CREATE TABLE bench_events (
        id bigint PRIMARY KEY, customer_id bigint NOT NULL, kind text NOT NULL,
        payload text, received_at timestamptz NOT NULL);
      CREATE TABLE bench_payments (
        id bigint PRIMARY KEY, customer_id bigint NOT NULL, amount_cents bigint NOT NULL,
        status text NOT NULL, attempted_at timestamptz NOT NULL);`),
  );
  await Promise.all([
    withClient(async (c) => {
      await c.query(
        `INSERT INTO bench_events
         SELECT g, g % ${Math.max(1, customers)}, (ARRAY['invoice.paid','invoice.failed','charge.refunded','customer.updated'])[1 + g % 4],
                md5(g::text) || md5((g * 7)::text), timestamptz '2024-01-01' + (g % 1000000) * interval '1 second'
         FROM generate_series(1, ${events}) AS g`,
      );
      await c.query(
        `CREATE INDEX bench_events_customer_idx ON bench_events (customer_id, received_at)`,
      );
    }),
    withClient(async (c) => {
      await c.query(
        `INSERT INTO bench_customers
         SELECT g, 'customer' || g || '@example.com', 'Customer ' || md5(g::text), (ARRAY['eu','us','apac'])[1 + g % 3],
                timestamptz '2023-01-01' + (g % 500000) * interval '1 minute'
         FROM generate_series(1, ${customers}) AS g`,
      );
      await c.query(`CREATE INDEX bench_customers_email_idx ON bench_customers (email)`);
      await c.query(
        `INSERT INTO bench_payments
         SELECT g, g % ${Math.max(1, customers)}, (g * 37) % 100000, (ARRAY['succeeded','failed','pending'])[1 + g % 3],
                timestamptz '2024-01-01' + (g % 2000000) * interval '1 second'
         FROM generate_series(1, ${payments}) AS g`,
      );
      await c.query(
        `CREATE INDEX bench_payments_customer_idx ON bench_payments (customer_id, attempted_at)`,
      );
    }),
  ]);
  let sizeBytes = 0;
  await withClient(async (c) => {
    await c.query('ANALYZE');
    const { rows } = await c.query<{ size: string }>(
      'SELECT pg_database_size(current_database())::text AS size',
    );
    sizeBytes = Number(rows[0].size);
  });
  return { sizeBytes, rows: customers + events + payments };
}
