import { useId } from 'preact/hooks';

interface TextFieldProps {
  label: string;
  value: string;
  onValue: (value: string) => void;
  type?: 'text' | 'password';
  autoComplete?: string;
  autoFocus?: boolean;
  required?: boolean;
  disabled?: boolean;
  /** Id of an element with more about this field. */
  describedBy?: string;
}

/** A labelled input: the label is visible and names the field. */
export function TextField({ label, value, onValue, type = 'text', autoComplete, autoFocus, required, disabled, describedBy }: TextFieldProps) {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        // Preact's types pair each input type with its own attributes; these two share all of ours.
        type={type as 'text'}
        value={value}
        onInput={(event) => onValue(event.currentTarget.value)}
        autocomplete={autoComplete}
        autoFocus={autoFocus}
        required={required}
        disabled={disabled}
        aria-describedby={describedBy}
        spellcheck={false}
        autocapitalize="none"
      />
    </div>
  );
}
