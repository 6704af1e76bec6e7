module tokengate.local/e2e/images

go 1.24
