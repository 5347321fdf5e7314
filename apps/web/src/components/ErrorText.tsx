/** An error sentence (from problem+json `detail`), announced to screen readers. */
export function ErrorText({
  message,
  id,
  testId = 'error',
}: {
  message: string | null;
  id?: string;
  testId?: string;
}) {
  if (!message) return null;
  return (
    <p className="error-text" role="alert" id={id} data-testid={testId}>
      {message}
    </p>
  );
}
