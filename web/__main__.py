from web.app import main

raise SystemExit(main())
