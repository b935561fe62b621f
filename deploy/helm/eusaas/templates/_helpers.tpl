{{- define "eusaas.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "eusaas.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ include "eusaas.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "eusaas.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The image tag: pinned, never latest. */}}
{{- define "eusaas.tag" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if eq $tag "latest" -}}{{- fail "image.tag must be a pinned version, not latest" -}}{{- end -}}
{{- $tag -}}
{{- end -}}

{{- define "eusaas.image" -}}
{{ printf "%s:%s" .Values.image.repository (include "eusaas.tag" .) }}
{{- end -}}

{{- define "eusaas.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "eusaas.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{/* Environment shared by every container: config, the Secret, key and archive paths. */}}
{{- define "eusaas.env" -}}
envFrom:
  - configMapRef: {name: {{ include "eusaas.fullname" . }}}
  - secretRef: {name: {{ .Values.existingSecret }}}
env:
  - {name: APP_JWT_PRIVATE_KEY_FILE, value: /keys/jwt-private.pem}
  - {name: APP_JWT_PUBLIC_KEY_FILE, value: /keys/jwt-public.pem}
  - {name: APP_GDPR_ARCHIVE_DIR, value: /var/lib/eusaas/archive}
  - {name: TMPDIR, value: /tmp}
{{- with .Values.extraEnv }}
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}

{{- define "eusaas.mounts" -}}
volumeMounts:
  - {name: tmp, mountPath: /tmp}
  - {name: keys, mountPath: /keys, readOnly: true}
  - {name: archive, mountPath: /var/lib/eusaas}
{{- end -}}

{{- define "eusaas.volumes" -}}
volumes:
  - name: tmp
    emptyDir: {sizeLimit: {{ .Values.tmpSizeLimit }}}
  - name: keys
    secret: {secretName: {{ .Values.jwtSecret }}, defaultMode: 0440}
  - name: archive
{{- if .Values.archive.existingClaim }}
    persistentVolumeClaim: {claimName: {{ .Values.archive.existingClaim }}}
{{- else }}
    emptyDir: {}
{{- end }}
{{- end -}}

{{- define "eusaas.podSpec" -}}
serviceAccountName: {{ include "eusaas.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
{{ toYaml .Values.podSecurityContext | indent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . | indent 2 }}
{{- end }}
{{- end -}}
