import sys

from glcic.cli import main

sys.exit(main())
