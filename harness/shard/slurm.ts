export async function slurmCommand(_argv: string[]): Promise<number> {
  process.stderr.write('holbench slurm: not yet\n');
  return 1;
}
