export async function k8sCommand(_argv: string[]): Promise<number> {
  process.stderr.write('holbench k8s: not yet\n');
  return 1;
}
